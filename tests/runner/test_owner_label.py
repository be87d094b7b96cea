"""The owner label every service gets shows on the shared day page (in "Executed:"): it names
the visitor by a digest of their key, not by a part of the key."""

from __future__ import annotations

from runner.runs import decide, owner_label


def test_the_owner_label_gives_nothing_of_the_key_away():
    key = "5c2588f07c2a0bc4" + "9d3e1a7b"
    label = owner_label(key)
    assert label.startswith("v-") and len(label) == 18
    assert key[:6] not in label
    assert label == owner_label(key) != owner_label("0" * 24)  # stable, and one per visitor


def test_it_is_what_a_create_is_labelled_with():
    decision = decide("docker service create --name vote instavote/vote", "a" * 24)
    assert f"confnotes.owner={owner_label('a' * 24)}" in decision.argv
