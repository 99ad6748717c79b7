from __future__ import annotations

import pytest

from gateway.journey.state import FINAL_STATES
from gateway.journey.state import TRANSITIONS
from gateway.journey.state import IllegalTransition
from gateway.journey.state import Journey
from gateway.journey.state import JourneyState

S = JourneyState


def journey(state: JourneyState = S.STARTED) -> Journey:
    return Journey(jid="j1", binding="b", created_at=0.0, state=state)


def test_every_state_has_a_row() -> None:
    assert set(TRANSITIONS) == set(JourneyState)


def test_final_states_go_nowhere() -> None:
    for state in FINAL_STATES:
        assert TRANSITIONS[state] == frozenset()


@pytest.mark.parametrize(
    "path",
    [
        (
            S.UPSTREAM_PENDING,
            S.UPSTREAM_DONE,
            S.FACTOR_PENDING,
            S.CHILD_CHOICE,
            S.CONSENT_PENDING,
            S.COMPLETED,
        ),
        (S.UPSTREAM_PENDING, S.UPSTREAM_DONE, S.COMPLETED),
        (S.CONSENT_PENDING, S.COMPLETED),
        (S.COMPLETED,),
        (S.UPSTREAM_PENDING, S.UPSTREAM_PENDING, S.FAILED),
    ],
)
def test_legal_paths(path: tuple[JourneyState, ...]) -> None:
    j = journey()
    for target in path:
        j = j.advance(target)
    assert j.state is path[-1]
    assert j.history[0] is S.STARTED


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (S.STARTED, S.UPSTREAM_DONE),  # no callback without going upstream
        (S.UPSTREAM_PENDING, S.CONSENT_PENDING),  # consent before the upstream answered
        (S.UPSTREAM_PENDING, S.COMPLETED),
        (S.CONSENT_PENDING, S.UPSTREAM_PENDING),  # no going back
        (S.CONSENT_PENDING, S.CONSENT_PENDING),
        (S.COMPLETED, S.COMPLETED),  # a completed journey is never completed twice
        (S.COMPLETED, S.FAILED),
        (S.FAILED, S.COMPLETED),
        (S.CHILD_CHOICE, S.UPSTREAM_PENDING),
    ],
)
def test_illegal_moves_are_refused(start: JourneyState, target: JourneyState) -> None:
    with pytest.raises(IllegalTransition):
        journey(start).advance(target)


def test_advance_returns_a_copy() -> None:
    j = journey()
    moved = j.advance(S.UPSTREAM_PENDING)
    assert j.state is S.STARTED
    assert moved.state is S.UPSTREAM_PENDING


def test_docstring_draws_every_transition() -> None:
    import gateway.journey.state as module

    doc = module.__doc__ or ""
    for source, targets in TRANSITIONS.items():
        for target in targets:
            assert f"{source.value} --> {target.value}" in doc
