"""Auxiliary labels on hand-made edge cases (SPEC section 2): the tasks' derivations from the BIO tags."""

from types import SimpleNamespace

import pytest

from mtbioner.tasks.labels import EntitySpan, entity_spans
from mtbioner.tasks import get as get_task


def derive_aux_labels(tags):
    """The paper's three auxiliary labels of a sentence, as each task derives its own."""
    return SimpleNamespace(**{name: get_task(name).gold(tags) for name in ("mt", "bcls", "mcls")})


def test_i_without_b_starts_an_entity():
    tags = ["O", "I-Disease", "I-Disease", "O"]
    assert entity_spans(tags) == [EntitySpan("Disease", 1, 3)]
    aux = derive_aux_labels(tags)
    assert aux.mt == ("O", "B-Multi", "I-Multi", "O")
    assert (aux.bcls, aux.mcls) == (1, 1)


def test_adjacent_entities_of_different_types_are_two_entities():
    tags = ["B-Chemical", "I-Disease", "I-Disease"]
    assert entity_spans(tags) == [EntitySpan("Chemical", 0, 1), EntitySpan("Disease", 1, 3)]
    assert derive_aux_labels(tags).mt == ("B-Single", "B-Multi", "I-Multi")


def test_b_directly_after_an_entity_of_the_same_type_starts_a_new_one():
    tags = ["B-GENE", "I-GENE", "B-GENE"]
    assert derive_aux_labels(tags) .mt == ("B-Multi", "I-Multi", "B-Single")
    assert derive_aux_labels(tags).mcls == 2


def test_entity_at_sentence_end():
    tags = ["O", "O", "B-GENE", "I-GENE"]
    assert entity_spans(tags) == [EntitySpan("GENE", 2, 4)]
    assert derive_aux_labels(tags).mt[-2:] == ("B-Multi", "I-Multi")


def test_all_o_sentence():
    aux = derive_aux_labels(["O"] * 5)
    assert aux.mt == ("O",) * 5
    assert (aux.bcls, aux.mcls) == (0, 0)


@pytest.mark.parametrize("count, expected", [(1, 1), (2, 2), (3, 3), (4, 3), (7, 3)])
def test_mcls_caps_entity_count_at_three(count, expected):
    tags = ["B-Disease", "O"] * count
    aux = derive_aux_labels(tags)
    assert aux.mcls == expected
    assert aux.bcls == 1
    assert aux.mt.count("B-Single") == count


def test_agrees_with_seqeval_on_ill_formed_input():
    from seqeval.metrics.sequence_labeling import get_entities

    tags = ["I-A", "I-B", "B-A", "I-A", "O", "I-A", "B-B", "I-B", "I-A"]
    ours = [(s.type, s.start, s.end - 1) for s in entity_spans(tags)]
    assert ours == get_entities(tags)
