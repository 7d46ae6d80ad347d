"""Sessions sharing one server never see each other's custom criteria or uploads (issue 8).

AppTest runs every session in this one process with the same ``st.cache_*`` stores as a real
server, so two AppTests are two users on one server."""

from __future__ import annotations

from tests.app.helpers import alerts, app, one_rule_policy


def _upload(name: str, title: str, when: str):  # type: ignore[no-untyped-def]
    at = app("criteria")
    text = one_rule_policy(name, when, title)
    at.file_uploader(key="criteria_upload").set_value(
        ("custom.yaml", text.encode(), "application/x-yaml")).run()
    assert not at.exception
    assert name in alerts(at).replace("\\", "")
    return at


def _explorer_policies(at) -> list[str]:  # type: ignore[no-untyped-def]
    at.switch_page("pages/explorer.py").run()
    assert not at.exception
    return list(at.radio(key="explain_policy").options)


def test_same_named_uploads_with_the_same_policy_id_stay_in_their_sessions() -> None:
    a = _upload("Policy of user A", "Rule of user A", "region = 'lumbar'")
    b = _upload("Policy of user B", "Rule of user B", "region = 'cervical'")
    seen_a, seen_b = " ".join(_explorer_policies(a)), " ".join(_explorer_policies(b))
    assert "user A" in seen_a and "user B" not in seen_a
    assert "user B" in seen_b and "user A" not in seen_b
    # and each evaluates its own rule: the default case is lumbar, so A's rule is met
    a.radio(key="explain_policy").set_value("acr").run()
    b.radio(key="explain_policy").set_value("acr").run()
    assert "Meets criteria" in alerts(a) and "Rule of user A" in " ".join(
        e.label for e in a.expander)
    assert "Does not meet criteria" in alerts(b)


def test_a_third_session_without_uploads_sees_only_the_bundled_policies() -> None:
    _upload("Policy of user A", "Rule of user A", "region = 'lumbar'")
    c = app()
    names = " ".join(c.radio(key="explain_policy").options)
    assert "user A" not in names


def test_removing_a_custom_policy_takes_effect_although_the_file_stays_selected() -> None:
    a = _upload("Policy of user A", "Rule of user A", "region = 'lumbar'")
    a.button(key="remove_acr").click().run()
    assert not a.exception
    assert "user A" not in " ".join(_explorer_policies(a))


def test_custom_criteria_limits_give_a_message(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Per session and per server limits on custom criteria are stated, not a crash."""
    from ui import resources

    monkeypatch.setattr(resources, "MAX_CUSTOM_POLICIES", 1)
    at = _upload("Policy of user A", "Rule of user A", "region = 'lumbar'")
    text = one_rule_policy("Second policy", "region = 'lumbar'", pid="second")
    at.file_uploader(key="criteria_upload").set_value(
        ("second.yaml", text.encode(), "application/x-yaml")).run()
    assert not at.exception
    assert "1 custom policies" in " ".join(e.value for e in at.error).replace("\\", "")

    monkeypatch.setattr(resources, "MAX_CUSTOM_ENGINES", 0)
    other = app("criteria")
    other.file_uploader(key="criteria_upload").set_value(
        ("custom.yaml", text.encode(), "application/x-yaml")).run()
    assert not other.exception
    assert "custom criteria for 0 sessions" in " ".join(e.value for e in other.error)
