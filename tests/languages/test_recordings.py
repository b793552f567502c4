"""Recordings read aloud where the child's device has no voice: the therapist's recordings of the
child's problems, the municipality's recordings of the fixed texts, and playing them on the child's
page only through a usable link."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from io import BytesIO

import pytest
from babel.messages.pofile import read_po
from markupsafe import escape
from sqlalchemy import delete, event, func, select

from kidrate.config import PROJECT_ROOT
from kidrate.extensions import db
from kidrate.languages.i18n import set_page_locale
from kidrate.languages.recordings import MAX_BYTES, audio_mime, check_audio, message_key
from kidrate.models import AuditEvent, Case, ChildLink, Problem, Recording, utcnow
from kidrate.red_thread import links

from ..conftest import csrf_token, sign_in

# Tiny files that begin as their containers do (the server checks the first bytes, not the sound).
WEBM = b"\x1a\x45\xdf\xa3" + b"\x9f\x42\x86\x81\x01" + b"\x00" * 40
OGG = b"OggS\x00\x02" + b"\x00" * 40
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 32
MP3 = b"ID3\x04\x00\x00" + b"\x00" * 40
MP3_FRAME = b"\xff\xfb\x90\x64" + b"\x00" * 40
MP4 = b"\x00\x00\x00\x18ftypM4A " + b"\x00" * 40
WORDS = ("Pappa skriker.", "Jag är ensam.")
QUESTION = "How is it now with:"


# --- The pure checks ----------------------------------------------------------------------------


def test_message_key_is_a_short_hash_of_the_msgid():
    assert message_key("Good") == hashlib.sha256(b"Good").hexdigest()[:16]
    assert re.fullmatch(r"[0-9a-f]{16}", message_key(QUESTION))
    assert message_key(QUESTION) != message_key("Good")


@pytest.mark.parametrize(("data", "mime"), [
    (WEBM, "audio/webm"), (WEBM, "audio/webm;codecs=opus"), (WEBM, "Audio/WebM; codecs=\"opus\""),
    (OGG, "audio/ogg"), (OGG, "audio/ogg; codecs=opus"), (WAV, "audio/wav"), (WAV, "audio/x-wav"),
    (MP3, "audio/mpeg"), (MP3_FRAME, "audio/mpeg"), (b"\xff\xe3" + b"\x00" * 8, "audio/mpeg"),
    (MP4, "audio/mp4"), (MP4, "audio/x-m4a"),
])
def test_check_audio_accepts_the_containers_we_serve(data, mime):
    assert check_audio(data, mime) is None


@pytest.mark.parametrize(("data", "mime", "error"), [
    (b"", "audio/webm", "empty"),
    (WEBM + b"\x00" * MAX_BYTES, "audio/webm", "too_big"),
    (WEBM, "text/plain", "mime"),
    (WEBM, "video/webm", "mime"),
    (WEBM, "", "mime"),
    (WEBM, "audio/flac", "mime"),
    (WEBM, "audio/ogg", "content"),
    (OGG, "audio/webm", "content"),
    (b"hello world", "audio/wav", "content"),
    (b"\xff\xd8\xff\xe0", "audio/mpeg", "content"),  # a JPEG
    (b"<html>ftyp</html>", "audio/mp4", "content"),
    (b"\x00\x00", "audio/mp4", "content"),
])
def test_check_audio_refuses_with_a_reason(data, mime, error):
    assert check_audio(data, mime) == error


def test_audio_mime_strips_parameters():
    assert audio_mime("audio/webm;codecs=opus") == "audio/webm"
    assert audio_mime(None) is None and audio_mime("audio/webm+evil") is None


# --- Fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def world(make):
    unit_a = make.unit("authority", "Unit A")
    unit_b = make.unit("authority", "Unit B")
    people = {
        "sw_a": make.user("social_worker", unit_a, username="sw_a"),
        "sw_b": make.user("social_worker", unit_b, username="sw_b"),
        "t1": make.user("therapist", username="t1"),
        "t2": make.user("therapist", username="t2"),
        "admin": make.user("admin", username="admin"),
    }
    case = make.case(people["sw_a"], therapist=people["t1"], words=WORDS, child_language="so")
    other = make.case(people["sw_a"], therapist=people["t2"], words=("Annat fall.",))
    problems = [p.id for p in db.session.get(Case, case.id).problems]
    other_problem = db.session.get(Case, other.id).problems[0].id
    return {"case": case.id, "other": other.id, "problems": problems, "other_problem": other_problem,
            "organisation": make.org().id}


def signed_in(app, who: str):
    client = app.test_client()
    sign_in(client, who)
    return client


def stored() -> list[tuple]:
    db.session.remove()
    return list(db.session.execute(
        select(Recording.problem_id, Recording.message_key, Recording.language, Recording.mime, Recording.data)
        .order_by(Recording.id)).all())


def upload(client, case_id: int, problem_id: int, data: bytes = WEBM, mime: str = "audio/webm;codecs=opus",
           language: str = "so", csrf: str | None = "from the page", headers=None):
    if csrf == "from the page":
        page = client.get(f"/staff/cases/{case_id}")
        csrf = csrf_token(page.text) if page.status_code == 200 else csrf_token(client.get("/staff/profile").text)
    form = {"problem_id": str(problem_id), "language": language, "audio": (BytesIO(data), "recording.bin", mime)}
    if csrf:
        form["csrf_token"] = csrf
    return client.post(f"/staff/cases/{case_id}/recordings", data=form, content_type="multipart/form-data",
                       headers=headers or {})


def recording_id(problem_id: int, language: str = "so") -> int:
    db.session.remove()
    return db.session.scalar(select(Recording.id).where(Recording.problem_id == problem_id,
                                                        Recording.language == language))


# --- The therapist records the child's problems -----------------------------------------------


def test_therapist_records_a_problem_and_plays_it_back(app, world):
    client = signed_in(app, "t1")
    page = client.get(f"/staff/cases/{world['case']}")
    assert 'data-recorder' in page.text and 'accept="audio/*"' in page.text and "js/recorder.js" in page.text
    response = upload(client, world["case"], world["problems"][0])
    assert response.status_code == 303 and response.headers["Location"].endswith("#recordings")
    assert stored() == [(world["problems"][0], None, "so", "audio/webm", WEBM)]
    rid = recording_id(world["problems"][0])
    page = client.get(f"/staff/cases/{world['case']}")
    assert "The recording is saved." in page.text
    assert f"/staff/cases/{world['case']}/recordings/{rid}" in page.text
    played = client.get(f"/staff/cases/{world['case']}/recordings/{rid}")
    assert played.status_code == 200 and played.data == WEBM and played.mimetype == "audio/webm"
    assert played.headers["Cache-Control"] == "no-store"
    part = client.get(f"/staff/cases/{world['case']}/recordings/{rid}", headers={"Range": "bytes=0-3"})
    assert part.status_code == 206 and part.data == WEBM[:4]
    db.session.remove()
    events = db.session.execute(select(AuditEvent.action, AuditEvent.target)
                                .where(AuditEvent.case_id == world["case"])).all()
    assert ("record_problem", f"problem:{world['problems'][0]}:so") in events
    assert ("play_recording", f"problem:{world['problems'][0]}:so") in events
    assert not any(target and ("Pappa" in target or "webm" in target) for _action, target in events)


def test_a_new_recording_replaces_the_old_one_per_problem_and_language(app, world):
    client = signed_in(app, "t1")
    first, second = world["problems"]
    assert upload(client, world["case"], first, WEBM).status_code == 303
    old_id = recording_id(first)
    assert upload(client, world["case"], first, OGG, "audio/ogg; codecs=opus").status_code == 303
    assert stored() == [(first, None, "so", "audio/ogg", OGG)]
    assert recording_id(first) == old_id
    assert upload(client, world["case"], first, WAV, "audio/wav", language="ti").status_code == 303
    assert upload(client, world["case"], second, MP4, "audio/mp4").status_code == 303
    assert sorted((r[0], r[2], r[3]) for r in stored()) == sorted(
        [(first, "so", "audio/ogg"), (first, "ti", "audio/wav"), (second, "so", "audio/mp4")])


def test_therapist_deletes_a_recording(app, world):
    client = signed_in(app, "t1")
    upload(client, world["case"], world["problems"][0])
    rid = recording_id(world["problems"][0])
    token = csrf_token(client.get(f"/staff/cases/{world['case']}").text)
    response = client.post(f"/staff/cases/{world['case']}/recordings/{rid}/delete", data={"csrf_token": token})
    assert response.status_code == 303
    assert stored() == []
    assert client.get(f"/staff/cases/{world['case']}/recordings/{rid}").status_code == 404
    assert client.post(f"/staff/cases/{world['case']}/recordings/{rid}/delete",
                       data={"csrf_token": token}).status_code == 404


@pytest.mark.parametrize(("data", "mime", "message"), [
    (WEBM, "text/plain", "This kind of file cannot be used"),
    (WEBM, "video/webm", "This kind of file cannot be used"),
    (WEBM, "application/octet-stream", "This kind of file cannot be used"),
    (OGG, "audio/webm", "is not the kind of audio it says it is"),
    (b"<script>alert(1)</script>", "audio/ogg", "is not the kind of audio it says it is"),
    (b"MZ\x90\x00", "audio/mpeg", "is not the kind of audio it says it is"),
    (WEBM + b"\x00" * MAX_BYTES, "audio/webm", "larger than 2 MB"),
    (b"", "audio/webm", "Choose a recording or an audio file"),
])
def test_bad_uploads_are_refused_with_a_message_and_store_nothing(app, world, data, mime, message):
    client = signed_in(app, "t1")
    response = upload(client, world["case"], world["problems"][0], data, mime)
    assert response.status_code == 400
    assert message in response.text and 'class="flash error"' in response.text
    assert stored() == []


@pytest.mark.parametrize("field", ["problem", "other_case_problem", "language", "no_file"])
def test_a_bad_choice_is_refused(app, world, field):
    client = signed_in(app, "t1")
    token = csrf_token(client.get(f"/staff/cases/{world['case']}").text)
    form = {"csrf_token": token, "problem_id": str(world["problems"][0]), "language": "so",
            "audio": (BytesIO(WEBM), "r.webm", "audio/webm")}
    if field == "problem":
        form["problem_id"] = "not-a-number"
    elif field == "other_case_problem":
        form["problem_id"] = str(world["other_problem"])
    elif field == "language":
        form["language"] = "xx"
    else:
        del form["audio"]
    response = client.post(f"/staff/cases/{world['case']}/recordings", data=form,
                           content_type="multipart/form-data")
    assert response.status_code == 400 and 'class="flash error"' in response.text
    assert stored() == []


def test_missing_or_wrong_csrf_token_is_refused(app, world):
    client = signed_in(app, "t1")
    assert upload(client, world["case"], world["problems"][0], csrf=None).status_code == 400
    assert upload(client, world["case"], world["problems"][0], csrf="forged").status_code == 400
    assert stored() == []


def test_a_request_far_over_the_limit_is_refused_before_it_is_read(app, world):
    client = signed_in(app, "t1")
    response = upload(client, world["case"], world["problems"][0], WEBM + b"\x00" * (5 * MAX_BYTES))
    assert response.status_code == 413
    assert stored() == []


def test_the_recorder_gets_json(app, world):
    client = signed_in(app, "t1")
    json_headers = {"Accept": "application/json"}
    ok = upload(client, world["case"], world["problems"][0], headers=json_headers)
    assert ok.status_code == 200 and ok.json == {"status": "saved",
                                                  "next": f"/staff/cases/{world['case']}#recordings"}
    bad = upload(client, world["case"], world["problems"][1], OGG, "audio/webm", headers=json_headers)
    assert bad.status_code == 400 and bad.json["status"] == "error" and "audio" in bad.json["message"]
    assert len(stored()) == 1


def test_a_closed_case_takes_no_new_recording_but_one_can_be_deleted(app, world):
    client = signed_in(app, "t1")
    upload(client, world["case"], world["problems"][0])
    case = db.session.get(Case, world["case"])
    case.status = "closed"
    db.session.commit()
    assert upload(client, world["case"], world["problems"][1]).status_code == 404
    page = client.get(f"/staff/cases/{world['case']}")
    assert "data-recorder" not in page.text
    rid = recording_id(world["problems"][0])
    token = csrf_token(page.text)
    assert client.post(f"/staff/cases/{world['case']}/recordings/{rid}/delete",
                       data={"csrf_token": token}).status_code == 303
    assert stored() == []


@pytest.mark.parametrize("who", ["t2", "sw_b"])
def test_other_staff_get_404_and_nothing(app, world, who):
    owner = signed_in(app, "t1")
    upload(owner, world["case"], world["problems"][0])
    rid = recording_id(world["problems"][0])
    client = signed_in(app, who)
    token = csrf_token(client.get("/staff/profile").text)
    base = f"/staff/cases/{world['case']}/recordings"
    if who == "t2":
        response = upload(client, world["case"], world["problems"][0], OGG, "audio/ogg", csrf=token)
        assert response.status_code == 404
        assert client.post(f"{base}/{rid}/delete", data={"csrf_token": token}).status_code == 404
    played = client.get(f"{base}/{rid}")
    assert played.status_code == 404 and WEBM not in played.data
    # Through a case one may read, a recording of another case is not found either.
    own_case = world["other"] if who == "t2" else None
    if own_case:
        assert client.get(f"/staff/cases/{own_case}/recordings/{rid}").status_code == 404
        assert client.post(f"/staff/cases/{own_case}/recordings/{rid}/delete",
                           data={"csrf_token": token}).status_code == 404
    assert stored() == [(world["problems"][0], None, "so", "audio/webm", WEBM)]


def test_the_social_worker_sees_which_recordings_exist_but_records_nothing(app, world):
    upload(signed_in(app, "t1"), world["case"], world["problems"][0])
    rid = recording_id(world["problems"][0])
    client = signed_in(app, "sw_a")
    page = client.get(f"/staff/cases/{world['case']}")
    assert page.status_code == 200
    assert f"/recordings/{rid}" in page.text and "data-recorder" not in page.text
    assert f"/recordings/{rid}/delete" not in page.text
    assert client.get(f"/staff/cases/{world['case']}/recordings/{rid}").data == WEBM
    token = csrf_token(page.text)
    assert upload(client, world["case"], world["problems"][1], csrf=token).status_code == 403
    assert client.post(f"/staff/cases/{world['case']}/recordings/{rid}/delete",
                       data={"csrf_token": token}).status_code == 403
    assert len(stored()) == 1


def test_recordings_go_with_the_problems_and_the_case(app, world):
    put_recording(problem_id=world["problems"][0], language="so")
    put_recording(problem_id=world["problems"][1], language="ti")
    put_recording(problem_id=world["other_problem"], language="so")
    # A fixed text: stays.
    put_recording(organisation_id=world["organisation"], message_key=message_key(QUESTION), language="so")
    assert len(stored()) == 4
    # The database's own cascade: the problems are deleted without the ORM.
    db.session.execute(delete(Problem).where(Problem.id == world["problems"][1]))
    db.session.commit()
    assert [r[0] for r in stored()] == [world["problems"][0], world["other_problem"], None]
    # The whole case.
    db.session.delete(db.session.get(Case, world["case"]))
    db.session.commit()
    assert [r[0] for r in stored()] == [world["other_problem"], None]
    db.session.execute(delete(Problem).where(Problem.case_id == world["other"]))
    db.session.commit()
    assert [r[1] for r in stored()] == [message_key(QUESTION)]


# --- The municipality's recordings of the fixed texts ------------------------------------------


def child_msgids() -> list[str]:
    with (PROJECT_ROOT / "translations" / "child.pot").open("rb") as handle:
        return [m.id for m in read_po(handle) if m.id]


def admin_upload(client, locale: str, key: str, data: bytes = OGG, mime: str = "audio/ogg"):
    token = csrf_token(client.get(f"/staff/admin/recordings/{locale}").text)
    return client.post(f"/staff/admin/recordings/{locale}/{key}", content_type="multipart/form-data",
                       data={"csrf_token": token, "audio": (BytesIO(data), "text.ogg", mime)})


def test_admin_lists_languages_and_every_fixed_text(app, world):
    client = signed_in(app, "admin")
    assert 'href="/staff/admin/recordings"' in client.get("/staff/admin/users").text
    index = client.get("/staff/admin/recordings")
    assert index.status_code == 200
    for code in ("so", "ti", "ckb", "fa_AF", "se", "sv", "en"):
        assert f'href="/staff/admin/recordings/{code}"' in index.text, code
    page = client.get("/staff/admin/recordings/so")
    assert page.status_code == 200
    with (PROJECT_ROOT / "translations" / "so" / "LC_MESSAGES" / "child.po").open("rb") as handle:
        somali = {m.id: m.string for m in read_po(handle) if m.id}
    for msgid in child_msgids():
        assert f'id="m-{message_key(msgid)}"' in page.text, msgid
        assert f"/staff/admin/recordings/so/{message_key(msgid)}" in page.text
        if "%(" not in somali[msgid]:
            assert str(escape(somali[msgid])) in page.text, msgid
    # Placeholders are read as an example, never as "%(number)s" (the page is in the reader's language).
    heard = page.text.split('class="heard"')[1:]
    assert len(heard) == len(child_msgids()) and not any("%(" in h.split("</span>")[0] for h in heard)
    assert '>2/4</span> <span class="badge">example filled in</span>' in page.text
    assert client.get("/staff/admin/recordings/xx").status_code == 404
    assert client.get("/staff/admin/recordings/..%2Fetc").status_code in (404, 405)


def test_admin_uploads_replaces_and_deletes_a_fixed_text_recording(app, world):
    client = signed_in(app, "admin")
    key = message_key(QUESTION)
    response = admin_upload(client, "so", key)
    assert response.status_code == 303
    assert stored() == [(None, key, "so", "audio/ogg", OGG)]
    assert db.session.scalar(select(Recording.organisation_id)) == world["organisation"]
    page = client.get("/staff/admin/recordings/so")
    assert "The recording is saved." in page.text
    assert f"/staff/admin/recordings/so/{key}/audio" in page.text
    played = client.get(f"/staff/admin/recordings/so/{key}/audio")
    assert played.status_code == 200 and played.data == OGG and played.mimetype == "audio/ogg"
    assert admin_upload(client, "so", key, MP3, "audio/mpeg").status_code == 303
    assert stored() == [(None, key, "so", "audio/mpeg", MP3)]
    assert admin_upload(client, "ti", key, WAV, "audio/wav").status_code == 303
    assert len(stored()) == 2
    token = csrf_token(client.get("/staff/admin/recordings/so").text)
    assert client.post(f"/staff/admin/recordings/so/{key}/delete", data={"csrf_token": token}).status_code == 303
    assert stored() == [(None, key, "ti", "audio/wav", WAV)]
    assert client.post(f"/staff/admin/recordings/so/{key}/delete", data={"csrf_token": token}).status_code == 404
    assert client.get(f"/staff/admin/recordings/so/{key}/audio").status_code == 404
    db.session.remove()
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"record_message", "delete_message_recording", "play_message_recording"} <= actions


@pytest.mark.parametrize(("locale", "key", "data", "mime", "status"), [
    ("so", "0123456789abcdef", OGG, "audio/ogg", 404),  # not a message of the catalogue
    ("so", "../../etc", OGG, "audio/ogg", 404),
    ("xx", message_key(QUESTION), OGG, "audio/ogg", 404),
    ("so", message_key(QUESTION), OGG, "image/png", 400),
    ("so", message_key(QUESTION), WEBM, "audio/ogg", 400),
    ("so", message_key(QUESTION), OGG + b"\x00" * MAX_BYTES, "audio/ogg", 400),
])
def test_admin_bad_uploads_store_nothing(app, world, locale, key, data, mime, status):
    client = signed_in(app, "admin")
    token = csrf_token(client.get("/staff/admin/recordings/so").text)
    response = client.post(f"/staff/admin/recordings/{locale}/{key}", content_type="multipart/form-data",
                           data={"csrf_token": token, "audio": (BytesIO(data), "t.ogg", mime)})
    assert response.status_code == status
    if status == 400:
        assert 'class="flash error"' in response.text
    assert stored() == []
    no_token = client.post(f"/staff/admin/recordings/so/{message_key(QUESTION)}",
                           content_type="multipart/form-data",
                           data={"audio": (BytesIO(OGG), "t.ogg", "audio/ogg")})
    assert no_token.status_code == 400 and stored() == []


def test_only_the_admin_reaches_the_fixed_texts(app, world):
    for who in ("t1", "sw_a"):
        client = signed_in(app, who)
        assert client.get("/staff/admin/recordings").status_code == 403
        assert client.get("/staff/admin/recordings/so").status_code == 403
        token = csrf_token(client.get("/staff/profile").text)
        response = client.post(f"/staff/admin/recordings/so/{message_key(QUESTION)}",
                               content_type="multipart/form-data",
                               data={"csrf_token": token, "audio": (BytesIO(OGG), "t.ogg", "audio/ogg")})
        assert response.status_code == 403
    assert stored() == []


# --- Playing on the child's page ------------------------------------------------------------------


def put_recording(**fields) -> int:
    recording = Recording(mime="audio/ogg", data=OGG, **fields)
    db.session.add(recording)
    db.session.commit()
    return recording.id


def test_child_audio_only_through_a_usable_link_of_that_case(app, world, make):
    rid = put_recording(problem_id=world["problems"][0], language="so")
    case = db.session.get(Case, world["case"])
    token = make.link(case, language="so")
    client = app.test_client()
    served = client.get(f"/r/{token}/audio/{rid}")
    assert served.status_code == 200 and served.data == OGG and served.mimetype == "audio/ogg"
    assert served.headers["Cache-Control"] == "no-store" and "Set-Cookie" not in served.headers
    # Another case's link, an unknown id, a malformed token.
    other_token = make.link(db.session.get(Case, world["other"]), language="so")
    assert client.get(f"/r/{other_token}/audio/{rid}").status_code == 404
    assert client.get(f"/r/{token}/audio/{rid + 1000}").status_code == 404
    assert client.get(f"/r/{'x' * 32}/audio/{rid}").status_code == 404
    assert client.get(f"/r/{token}/audio/abc").status_code == 404


@pytest.mark.parametrize("state", ["used", "revoked", "expired"])
def test_child_audio_refused_through_a_link_that_cannot_be_used(app, world, make, state):
    rid = put_recording(problem_id=world["problems"][0], language="so")
    case = db.session.get(Case, world["case"])
    token = make.link(case, language="so", days=-1 if state == "expired" else 14)
    link = db.session.scalar(select(ChildLink).where(ChildLink.token_hash == links.hash_token(token)))
    if state == "used":
        link.used_at = utcnow()
    elif state == "revoked":
        link.revoked_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    response = app.test_client().get(f"/r/{token}/audio/{rid}")
    assert response.status_code == 404 and OGG not in response.data


def test_fixed_text_audio_only_in_the_pages_or_the_links_language(app, world, make):
    somali = put_recording(organisation_id=world["organisation"], message_key=message_key(QUESTION), language="so")
    arabic = put_recording(organisation_id=world["organisation"], message_key=message_key(QUESTION), language="ar")
    token = make.link(db.session.get(Case, world["case"]), language="so")
    client = app.test_client()
    assert client.get(f"/r/{token}/audio/{somali}").status_code == 200  # the link's language
    assert client.get(f"/r/{token}/audio/{somali}?lang=ar").status_code == 200
    assert client.get(f"/r/{token}/audio/{arabic}?lang=ar").status_code == 200  # the page's language
    assert client.get(f"/r/{token}/audio/{arabic}").status_code == 404
    assert client.get(f"/r/{token}/audio/{arabic}?lang=ti").status_code == 404
    assert client.get(f"/r/{token}/audio/{arabic}?lang=<script>").status_code == 404


def test_say_adds_data_audio_only_where_a_recording_exists(app, world, make):
    question = put_recording(organisation_id=world["organisation"], message_key=message_key(QUESTION), language="so")
    good = put_recording(organisation_id=world["organisation"], message_key=message_key("Good"),
                         language="ar")  # not on a Somali page
    problem = put_recording(problem_id=world["problems"][0], language="so")
    token = make.link(db.session.get(Case, world["case"]), language="so")
    client = app.test_client()
    html = client.get(f"/r/{token}").text
    audio = re.findall(r'data-audio="([^"]+)"', html)
    question_url = f"/r/{token}/audio/{question}?lang=so"
    assert audio.count(question_url) == len(WORDS)  # "How is it now with:" before each problem
    assert audio.count(f"/r/{token}/audio/{problem}") == 1
    assert len(audio) == len(WORDS) + 1
    assert re.search(rf'<span id="q\d+-q"><span data-audio="{re.escape(question_url)}">', html)
    assert '<h1 id="g1">' in html and '<h1 id="g1"><span' not in html
    # Every address it gives is one the child's page can play.
    for url in set(audio):
        assert client.get(url).status_code == 200
    # In Arabic, chosen on the page: the Arabic recording, none of the Somali ones.
    html = client.get(f"/r/{token}?lang=ar&view=six").text
    audio = re.findall(r'data-audio="([^"]+)"', html)
    assert audio == [f"/r/{token}/audio/{good}?lang=ar"] * len(WORDS)  # "Good", on each problem's scale
    assert client.get(audio[0]).status_code == 200


def test_say_escapes_and_fills_in_without_a_recording(app):
    with app.test_request_context("/r/thanks"):
        set_page_locale("en")
        say = app.jinja_env.globals["say"]
        assert str(say("%(number)s of 10", number="<b>7</b>")) == "&lt;b&gt;7&lt;/b&gt; of 10"
        assert str(say("Good")) == "Good"
        set_page_locale("sv")
        assert str(say("Good")) == "Bra"


def test_child_page_counts_one_query_for_fixed_text_recordings(app, world, make):
    put_recording(organisation_id=world["organisation"], message_key=message_key(QUESTION), language="so")
    token = make.link(db.session.get(Case, world["case"]), language="so")
    statements = []

    def count(conn, cursor, statement, *args):
        if "recording.message_key is not null" in statement.lower():
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert app.test_client().get(f"/r/{token}?view=six").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 1


def test_counts_of_fixed_text_recordings_per_language(app, world):
    put_recording(organisation_id=world["organisation"], message_key=message_key(QUESTION), language="so")
    put_recording(organisation_id=world["organisation"], message_key=message_key("Good"), language="so")
    client = signed_in(app, "admin")
    html = client.get("/staff/admin/recordings").text
    total = len(child_msgids())
    assert f"2 of {total}" in html
    assert db.session.scalar(select(func.count(Recording.id))) == 2


def test_ids_past_the_databases_range_are_not_found(app, world, make):
    big = "9" * 30
    token = make.link(db.session.get(Case, world["case"]), language="so")
    client = signed_in(app, "t1")
    assert client.get(f"/staff/cases/{world['case']}/recordings/{big}").status_code == 404
    assert client.get(f"/staff/cases/{world['case']}/recordings/2147483648").status_code == 404
    assert client.get(f"/staff/cases/{big}/recordings/1").status_code == 404
    assert upload(client, int(big), world["problems"][0]).status_code == 404
    assert app.test_client().get(f"/r/{token}/audio/{big}").status_code == 404
    assert stored() == []


# --- Each organisation's fixed-text recordings are its own ----------------------------------------


def test_another_organisations_admin_cannot_hear_replace_or_delete_a_fixed_text_recording(app, world, make):
    key = message_key(QUESTION)
    ours = signed_in(app, "admin")
    assert admin_upload(ours, "so", key).status_code == 303
    other_org_id = make.outsider("admin", "admin_b").organisation_id
    theirs = signed_in(app, "admin_b")
    # They neither see nor play ours.
    page = theirs.get("/staff/admin/recordings/so")
    assert f"/staff/admin/recordings/so/{key}/audio" not in page.text
    assert theirs.get(f"/staff/admin/recordings/so/{key}/audio").status_code == 404
    token = csrf_token(page.text)
    assert theirs.post(f"/staff/admin/recordings/so/{key}/delete", data={"csrf_token": token}).status_code == 404
    # Their own recording of the same text is theirs: ours stays as it was.
    assert admin_upload(theirs, "so", key, MP3, "audio/mpeg").status_code == 303
    rows = db.session.execute(select(Recording.organisation_id, Recording.mime).order_by(Recording.id)).all()
    assert [tuple(r) for r in rows] == [(world["organisation"], "audio/ogg"), (other_org_id, "audio/mpeg")]
    # Our children hear ours; theirs is never served through our link.
    token = make.link(db.session.get(Case, world["case"]), language="so")
    child = app.test_client()
    html = child.get(f"/r/{token}").text
    ours_id, theirs_id = db.session.scalars(select(Recording.id).order_by(Recording.id)).all()
    assert f"/r/{token}/audio/{ours_id}?lang=so" in html and f"/audio/{theirs_id}" not in html
    assert child.get(f"/r/{token}/audio/{ours_id}").data == OGG
    assert child.get(f"/r/{token}/audio/{theirs_id}").status_code == 404
