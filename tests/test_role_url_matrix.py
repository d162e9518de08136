"""Role × URL matrix: every URL pattern in the project, for every role.

The patterns are walked from the URLconf, not listed by hand: a new URL with
no entry in ``EXPECTED`` (or ``ADMIN_EXPECTED``) fails
``test_every_url_pattern_has_an_expectation``. Each cell states the status a
GET must answer; redirects name where they go. Denials are 302 to the login
page (anonymous), 403 (role lacks the permission) or 404 (object at another
site: its existence is not revealed).
"""

import re

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from perform.models import ConsentRecord, EligibilityCriterion, ParticipantStatusChange
from tests import clock

ROLES = [
    "anonymous",
    "coordinator",
    "coordinator2",  # a coordinator at the *other* site
    "investigator",
    "datamanager",
    "randomizer",
    "statistician",
    "dsmb",
    "admin",
    "owner",  # the system owner: a superuser for account administration only
]
SITE_STAFF = {"coordinator", "investigator"}
METHODS_CENTRE = {"datamanager", "randomizer", "statistician"}
STAFF = {"datamanager", "admin", "owner"}  # may enter the Django admin
ROLE_KEEPERS = {"datamanager", "admin", "owner"}  # see the role pages

LOGIN = ("redirect", "/accounts/login/")
# The admin's app-index route: one alternative per app with a registered model.
ADMIN_APP_INDEX = (
    r"^(?P<app_label>django_celery_beat|axes|infrastructure|perform|auth|otp_totp"
    r"|otp_static|crf)/$"
)
ADMIN_LOGIN = ("redirect", "/admin/login/")


def row(default, **cells):
    """One URL's expectations: ``default`` for every role not named."""
    result = dict.fromkeys(ROLES, default)
    result.update(cells)
    return result


def logged_in(status, *, anonymous=LOGIN, **cells):
    return row(status, anonymous=anonymous, **cells)


def only(allowed: set, status=200, *, denied=403, **cells):
    """Allowed roles get ``status``, other logged-in roles ``denied``."""
    result = row(denied, anonymous=LOGIN)
    for role in allowed:
        result[role] = status
    result.update(cells)
    return result


PUBLIC = row(200)
SITE_PARTICIPANT_PAGE = only(SITE_STAFF, coordinator2=404)
VIEW_PARTICIPANT = SITE_STAFF | {"coordinator2"} | METHODS_CENTRE
# A randomized participant's allocation: roles with view_allocation, in scope.
SITE_ALLOCATION = only(SITE_STAFF | METHODS_CENTRE, coordinator2=404)
STATISTICIAN_ONLY = only({"statistician"})

# Keyed by the route as written in the URLconf.
EXPECTED = {
    "": logged_in(
        ("redirect", "/participants/"),
        dsmb=("redirect", "/reports/"),
        admin=200,
        owner=("redirect", "/roles/"),
    ),
    "healthz/": PUBLIC,
    "participants/": only(VIEW_PARTICIPANT),
    "participants/screen/": only(SITE_STAFF | {"coordinator2"}),
    "participants/<str:study_id>/": only(SITE_STAFF | METHODS_CENTRE, coordinator2=404),
    # The audit trail: who sees the participant page (its "Recent changes").
    "participants/<str:study_id>/audit/": only(
        SITE_STAFF | METHODS_CENTRE, coordinator2=404
    ),
    "participants/<str:study_id>/screening/": SITE_PARTICIPANT_PAGE,
    "participants/<str:study_id>/consent/": SITE_PARTICIPANT_PAGE,
    "participants/<str:study_id>/decline/": SITE_PARTICIPANT_PAGE,
    # ePRO contact preferences (crf.epro.contact_views), of the consented
    # participant: the site's staff only; the Methods Centre never sees
    # contact details (403), another site's coordinator not the participant.
    "participants/<str:study_id>/contact/": SITE_PARTICIPANT_PAGE,
    "screening/log/": only(VIEW_PARTICIPANT),
    "screening/summary/": only(METHODS_CENTRE),
    # Randomization. The randomize page uses a consented participant waiting at
    # site A, the allocation pages a randomized one there (see ``objects``).
    "randomization/participants/<str:study_id>/randomize/": only({"randomizer"}),
    "randomization/participants/<str:study_id>/allocation/": SITE_ALLOCATION,
    "randomization/participants/<str:study_id>/allocation.pdf": SITE_ALLOCATION,
    "randomization/log/": only({"datamanager", "randomizer", "statistician"}),
    "randomization/balance/": only({"datamanager", "statistician"}),
    # List management: statisticians only; ``list_id`` is the active list.
    "randomization/lists/": STATISTICIAN_ONLY,
    "randomization/lists/generate/": STATISTICIAN_ONLY,
    "randomization/lists/import/": STATISTICIAN_ONLY,
    "randomization/lists/<int:list_id>/": STATISTICIAN_ONLY,
    # Verifying is POST only; the permission is checked before the method.
    "randomization/lists/<int:list_id>/verify/": only({"statistician"}, 405),
    # GET of an active list's activate page: says it is no longer a draft.
    "randomization/lists/<int:list_id>/activate/": STATISTICIAN_ONLY,
    "randomization/lists/<int:list_id>/extend/": STATISTICIAN_ONLY,
    "randomization/lists/<int:list_id>/export.csv": STATISTICIAN_ONLY,
    # Case report forms (crf.forms.urls): a baseline, a 2-week follow-up and an
    # adverse event, drafts of the randomized site A participant (see
    # ``objects``).
    **{
        f"participants/<str:study_id>/forms/{route}": cells
        for route, cells in {
            "": only(SITE_STAFF | METHODS_CENTRE, coordinator2=404),
            "<str:key>/new/": only(SITE_STAFF, coordinator2=404),
            **{
                form + action: cells
                for form in (
                    "<str:key>/",
                    "follow-up/<str:visit>/",
                    "<str:key>/<int:pk>/",
                )
                for action, cells in {
                    "": only(SITE_STAFF | METHODS_CENTRE, coordinator2=404),
                    "history/": only(SITE_STAFF | METHODS_CENTRE, coordinator2=404),
                    "sign/": only({"investigator"}),
                    "lock/": only({"datamanager"}),
                    "unlock/": only({"datamanager"}),
                }.items()
            },
        }.items()
    },
    # Signing or locking a participant's complete forms at once, locking one
    # visit's follow-up forms across a site (crf.forms.bulk), and the queue
    # of consented participants awaiting randomization (crf.forms.awaiting),
    # scoped to the user's sites.
    "participants/<str:study_id>/forms/sign-all/": only({"investigator"}),
    "participants/<str:study_id>/forms/lock-all/": only({"datamanager"}),
    "forms/lock-visit/": only({"datamanager"}),
    "awaiting-randomization/": only(SITE_STAFF | {"coordinator2"} | METHODS_CENTRE),
    # Dashboards (crf.schedule.dashboards.urls): crf.view_forms, scoped to the user's
    # sites; the data-quality view also needs view_all_sites.
    "dashboard/": only(SITE_STAFF | {"coordinator2"} | METHODS_CENTRE),
    "data-quality/": only(METHODS_CENTRE),
    # The record status grid: crf.view_forms, rows scoped to the user's sites.
    "record-status/": only(SITE_STAFF | {"coordinator2"} | METHODS_CENTRE),
    # Data queries (crf.queries.urls): crf.view_forms, scoped to the user's sites;
    # raising one needs crf.raise_queries. ``query_id`` is a query on the site A
    # adverse event, which the raise page is opened on (see ``concrete_url``).
    "queries/": only(SITE_STAFF | {"coordinator2"} | METHODS_CENTRE),
    "queries/<int:query_id>/": only(SITE_STAFF | METHODS_CENTRE, coordinator2=404),
    "queries/new/": only({"datamanager"}),
    # E-mail: everyone's own reminder opt-out; the outbox log for the data
    # manager (infrastructure.view_outboundemail).
    "account/notifications/": logged_in(200),
    # Role administration (perform.role_views): those who keep the roles;
    # ``user_id`` is the site A coordinator.
    "roles/": only(ROLE_KEEPERS),
    "roles/history/": only(ROLE_KEEPERS),
    "roles/<int:user_id>/": only(ROLE_KEEPERS),
    # Account security (django-two-factor-auth, perform.mfa_views). Nobody in
    # the matrix has verified a second factor in this session, so the pages
    # that need one send everyone to log in (or back to the profile).
    "account/security/": logged_in(200),
    # The coordinator has an authenticator already (see ``objects``): no
    # second one through the wizard.
    "account/security/setup/": logged_in(
        200, coordinator=("redirect", "/account/security/")
    ),
    "account/security/qrcode/": logged_in(404),  # no set-up in progress
    "account/security/setup/complete/": logged_in(LOGIN),
    "account/security/backup/tokens/": logged_in(LOGIN),
    "account/security/disable/": logged_in(("redirect", "/account/security/")),
    "account/security/api-tokens/revoke/": logged_in(405),
    "account/session/keep-alive/": logged_in(405),  # POST only
    "emails/": only({"datamanager"}),
    # Central statistical monitoring (outcomes.monitoring.urls): the data
    # manager and the statistician. ``indicator_code`` is the screen-failure
    # rate, which has data here (screened participants); the permission is
    # checked before the code.
    "monitoring/": only({"datamanager", "statistician"}),
    "monitoring/funnel/<slug:indicator_code>.png": only(
        {"datamanager", "statistician"}
    ),
    # DSMB reports (outcomes.urls). ``report_id`` is a released *closed*
    # report: only the DSMB and the statistician may know it exists (404 for
    # others). Drafts and withdrawn reports: ``REPORT_STATE_EXPECTED``.
    "reports/": only({"datamanager", "statistician", "dsmb"}),
    **{
        f"reports/<int:report_id>/{route}": only({"statistician", "dsmb"}, denied=404)
        for route in ("", "status/", "pdf/", "json/")
    },
    # The statistician's release decisions: POST only; the permission is
    # checked before the method.
    **{
        f"reports/<int:report_id>/{route}": only({"statistician"}, 405)
        for route in ("release/", "withdraw/", "recommendation/")
    },
    "reports/downloads/": STATISTICIAN_ONLY,
    "reports/dataset/": STATISTICIAN_ONLY,
    "reports/dataset/dictionary/": STATISTICIAN_ONLY,
    # The export wizard (outcomes.data_export.urls). ``export_id`` is a done
    # export the statistician requested: the data manager, who may export
    # too, sees only their own exports (404); roles without the permission 403.
    "exports/": only({"datamanager", "statistician"}),
    **{
        f"exports/<int:export_id>/{route}": only({"statistician"}, datamanager=404)
        for route in ("", "download/")
    },
    # Patient-reported outcomes (crf.epro.urls). The survey by personal link
    # needs no login; ``token`` is a valid link of a visit without a window
    # yet, so its page says the questionnaires are not open (200); saving and
    # the language switch are POST only. (Wrong tokens: tests/crf/epro.)
    "survey/<str:token>/": PUBLIC,
    "survey/<str:token>/autosave/": row(405),
    "survey/<str:token>/language/": row(405),
    "survey/<str:token>/stop/": PUBLIC,
    # The clinic tablet: started by site staff entering forms (POST only, the
    # permission checked before the method); its pages need the session's
    # tablet mode, which nobody here is in (404).
    "participants/<str:study_id>/tablet/": only(SITE_STAFF | {"coordinator2"}, 405),
    "tablet/": logged_in(404),
    "tablet/autosave/": logged_in(405),
    "tablet/language/": logged_in(405),
    "tablet/exit/": logged_in(404),
    "accounts/login/": PUBLIC,
    # Logging out is POST only (CSRF-safe); GET is refused for everyone.
    "accounts/logout/": row(405, anonymous=LOGIN),
    "accounts/password_change/": logged_in(200),
    "accounts/password_change/done/": logged_in(200),
    "accounts/password_reset/": PUBLIC,
    "accounts/password_reset/done/": PUBLIC,
    "accounts/reset/<uidb64>/<token>/": PUBLIC,  # invalid link page
    "accounts/reset/done/": PUBLIC,
}

# The Django admin: non-staff are sent to the admin login; staff get what their
# model permissions allow. Keyed by route; ``{model}`` patterns are expanded.
NOT_STAFF = {role: ADMIN_LOGIN for role in ROLES if role not in STAFF}
NOT_STAFF["anonymous"] = LOGIN  # LoginRequiredMiddleware answers first


def admin_row(admin, datamanager, owner):
    return {**NOT_STAFF, "admin": admin, "datamanager": datamanager, "owner": owner}


def site_row(admin, datamanager, owner):
    return {**admin_row(admin, datamanager, owner), "anonymous": ADMIN_LOGIN}


def model_rows(model_path, *, admin, datamanager, owner):
    """Expectations for the five standard admin views of one model.

    ``admin``/``datamanager``/``owner`` give statuses for (changelist, add,
    history, delete, change, object-redirect) in that order.
    """
    views = [
        "",
        "add/",
        "<path:object_id>/history/",
        "<path:object_id>/delete/",
        "<path:object_id>/change/",
        "<path:object_id>/",
    ]
    return {
        f"admin/{model_path}/{view}": admin_row(a, d, o)
        for view, a, d, o in zip(views, admin, datamanager, owner, strict=True)
    }


ALL = (200, 200, 200, 200, 200, 302)
NONE = (403, 403, 403, 403, 403, 302)
VIEW_ONLY = (200, 403, 200, 403, 200, 302)
# Participant data outside the user's scope: the object is not found at all, so
# the history view sends them back to the admin index.
OUT_OF_SCOPE = (403, 403, ("redirect", "/admin/"), 403, 403, 302)
NO_DELETE = (200, 200, 200, 403, 200, 302)
UNLOCK = (200, 403, 200, 200, 200, 302)
SEE_AND_DELETE = (200, 403, 200, 200, 200, 302)

ADMIN_EXPECTED = {
    # Admin-site views send strangers to the admin's own login page.
    "admin/": site_row(200, 200, 200),
    # ... which sends everyone to the two-factor log-in.
    "admin/login/": row(("redirect", "/accounts/login/")),
    "admin/logout/": row(
        ("redirect", "/admin/"),
        anonymous=ADMIN_LOGIN,
        admin=405,
        datamanager=405,
        owner=405,
    ),
    "admin/password_change/": site_row(200, 200, 200),
    "admin/password_change/done/": site_row(200, 200, 200),
    "admin/autocomplete/": site_row(403, 403, 403),  # needs query parameters
    "admin/jsi18n/": site_row(200, 200, 200),
    "admin/r/<path:content_type_id>/<path:object_id>/": site_row(404, 404, 404),
    "admin/" + ADMIN_APP_INDEX: (site_row(200, 200, 200)),
    "admin/(?P<url>.*)$": site_row(404, 404, 404),
    # Nobody sets another person's password, the system owner included.
    "admin/perform/user/<id>/password/": admin_row(403, 403, 403),
    **model_rows("auth/group", admin=VIEW_ONLY, datamanager=NONE, owner=VIEW_ONLY),
    **model_rows(
        "django_celery_beat/periodictask",
        admin=NO_DELETE,
        datamanager=NONE,
        owner=NONE,
    ),
    **model_rows(
        "django_celery_beat/crontabschedule",
        admin=NO_DELETE,
        datamanager=NONE,
        owner=NONE,
    ),
    **model_rows(
        "django_celery_beat/intervalschedule",
        admin=NO_DELETE,
        datamanager=NONE,
        owner=NONE,
    ),
    **model_rows(
        "django_celery_beat/clockedschedule",
        admin=VIEW_ONLY,
        datamanager=NONE,
        owner=NONE,
    ),
    **model_rows(
        "django_celery_beat/solarschedule",
        admin=VIEW_ONLY,
        datamanager=NONE,
        owner=NONE,
    ),
    **model_rows(
        "axes/accessattempt",
        admin=UNLOCK,
        datamanager=NONE,
        owner=UNLOCK,
    ),
    **model_rows("axes/accesslog", admin=VIEW_ONLY, datamanager=NONE, owner=VIEW_ONLY),
    **model_rows(
        "axes/accessfailurelog", admin=VIEW_ONLY, datamanager=NONE, owner=VIEW_ONLY
    ),
    **model_rows(
        "perform/site", admin=NO_DELETE, datamanager=NO_DELETE, owner=VIEW_ONLY
    ),
    # Accounts: ``<path:object_id>`` is the site A coordinator, whom the data
    # manager, the administrator and the owner may edit (roles read-only).
    **model_rows(
        "perform/user", admin=NO_DELETE, datamanager=NO_DELETE, owner=NO_DELETE
    ),
    **model_rows(
        "perform/eligibilitycriterion",
        admin=NO_DELETE,
        datamanager=VIEW_ONLY,
        owner=NONE,
    ),
    # Participant data: read-only, and only for roles holding view_participant.
    **model_rows(
        "perform/participant",
        admin=OUT_OF_SCOPE,
        datamanager=VIEW_ONLY,
        owner=OUT_OF_SCOPE,
    ),
    **model_rows(
        "perform/participantstatuschange",
        admin=OUT_OF_SCOPE,
        datamanager=NONE,
        owner=OUT_OF_SCOPE,
    ),
    **model_rows(
        "perform/consentrecord",
        admin=OUT_OF_SCOPE,
        datamanager=NONE,
        owner=OUT_OF_SCOPE,
    ),
    # What the workers sent: the data manager reads it, the administrator not.
    **model_rows(
        "infrastructure/outboundemail", admin=NONE, datamanager=VIEW_ONLY, owner=NONE
    ),
    **model_rows(
        "crf/visitreminder",
        admin=OUT_OF_SCOPE,
        datamanager=VIEW_ONLY,
        owner=OUT_OF_SCOPE,
    ),
    **model_rows(
        "crf/safetyalert",
        admin=OUT_OF_SCOPE,
        datamanager=VIEW_ONLY,
        owner=OUT_OF_SCOPE,
    ),
    # Second factors: the system owner sees who has one and resets (deletes)
    # another user's; nobody sees a key. ``<path:object_id>`` is the
    # coordinator's device.
    **model_rows(
        "otp_totp/totpdevice", admin=NONE, datamanager=NONE, owner=SEE_AND_DELETE
    ),
    **model_rows(
        "otp_static/staticdevice",
        admin=NONE,
        datamanager=NONE,
        owner=SEE_AND_DELETE,
    ),
}


def all_routes(patterns=None, prefix=""):
    """Every concrete route in the URLconf, as its pattern string."""
    patterns = get_resolver().url_patterns if patterns is None else patterns
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from all_routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def api_expected():
    from tests import api_matrix

    return api_matrix.EXPECTED


def expectations():
    return {**EXPECTED, **ADMIN_EXPECTED, **api_expected()}


def test_every_url_pattern_has_an_expectation():
    routes = set(all_routes())
    missing = sorted(routes - set(expectations()))
    stale = sorted(set(expectations()) - routes)
    assert not missing, f"URL patterns without a role expectation: {missing}"
    assert not stale, f"Expectations for URLs that no longer exist: {stale}"


@pytest.fixture
def objects(users, site_a, screen):
    """One object of every kind an admin or participant URL can point at."""
    participant = screen(users["coordinator"], site_a)
    from perform import services

    services.participant_consent_record(
        actor=users["coordinator"],
        participant=participant,
        decision_date=clock.today(),
        form_version="v1.0",
        obtained_by="Dr A",
    )
    # A second, still-eligible participant for the consent/decline pages.
    eligible = screen(users["coordinator"], site_a)
    # An active list and a third participant, randomized, for the allocation
    # pages; the consented ``participant`` waits for randomization.
    from randomization import services as randomization

    allocation_list = randomization.list_activate(
        actor=users["statistician"],
        allocation_list=randomization.list_generate(
            actor=users["statistician"], name="Matrix", seed=1, slots_per_stratum=4
        ),
    )
    randomized = screen(users["coordinator"], site_a)
    services.participant_consent_record(
        actor=users["coordinator"],
        participant=randomized,
        decision_date=clock.today(),
        form_version="v1.0",
        obtained_by="Dr A",
    )
    randomization.participant_randomize(
        actor=users["randomizer"], participant=randomized
    )
    from crf.forms import services as crf_services
    from crf.models import AdverseEvent, Baseline, FollowUp

    # Clinical forms exist only for randomized participants (PROTOCOL §7).
    for form in (
        Baseline(participant=randomized, ecog=1),
        FollowUp(participant=randomized, visit="2w"),
    ):
        crf_services.form_save(actor=users["coordinator"], form=form, complete=False)
    adverse_event = crf_services.form_save(
        actor=users["coordinator"],
        form=AdverseEvent(participant=randomized, term="Fall"),
        complete=False,
    )
    from crf.models import Reoperation, VisitReminder

    reoperation = crf_services.form_save(
        actor=users["coordinator"],
        form=Reoperation(participant=randomized, procedure="Revision"),
        complete=False,
    )
    alert = reoperation_alert(reoperation)
    reminder = VisitReminder.objects.create(
        email=alert.email,
        digest=VisitReminder.Digest.DAILY,
        recipient=users["coordinator"],
        participant=randomized,
        site=site_a,
        visit="2w",
        reason=VisitReminder.Reason.OVERDUE,
        for_date=clock.today(),
        window_start=clock.today(),
        window_end=clock.today(),
    )
    from crf.queries.services import query_raise

    data_query = query_raise(
        actor=users["datamanager"], form=adverse_event, field_name="", text="Matrix"
    )
    interval = IntervalSchedule.objects.create(every=1, period="days")
    clocked = ClockedSchedule.objects.create(clocked_time=timezone.now())
    solar = SolarSchedule.objects.create(event="sunrise", latitude=0, longitude=0)
    crontab = CrontabSchedule.objects.create()
    task = PeriodicTask.objects.create(name="t", task="x", interval=interval)
    attempt = AccessAttempt.objects.create(
        username="x", ip_address="127.0.0.1", failures_since_start=1
    )
    log = AccessLog.objects.create(username="x", ip_address="127.0.0.1")
    failure = AccessFailureLog.objects.create(username="x", ip_address="127.0.0.1")
    totp = TOTPDevice.objects.create(user=users["coordinator"], name="phone")
    static = StaticDevice.objects.create(user=users["coordinator"], name="backup")
    report = closed_report_ready(released_by=users["statistician"])
    export = data_export_done(users["statistician"])
    return {
        "survey_token": survey_token(randomized),
        "study_id": eligible.study_id,
        "waiting_study_id": participant.study_id,
        "randomized_study_id": randomized.study_id,
        "list_id": allocation_list.pk,
        "auth/group": Group.objects.first().pk,
        "otp_totp/totpdevice": totp.pk,
        "otp_static/staticdevice": static.pk,
        "user_id": users["coordinator"].pk,
        "django_celery_beat/periodictask": task.pk,
        "django_celery_beat/intervalschedule": interval.pk,
        "django_celery_beat/clockedschedule": clocked.pk,
        "django_celery_beat/solarschedule": solar.pk,
        "django_celery_beat/crontabschedule": crontab.pk,
        "axes/accessattempt": attempt.pk,
        "axes/accesslog": log.pk,
        "axes/accessfailurelog": failure.pk,
        "perform/site": site_a.pk,
        "perform/user": users["coordinator"].pk,
        "perform/eligibilitycriterion": EligibilityCriterion.objects.first().pk,
        "perform/participant": participant.pk,
        "perform/participantstatuschange": ParticipantStatusChange.objects.first().pk,
        "perform/consentrecord": ConsentRecord.objects.first().pk,
        "content_type_id": ContentType.objects.get_for_model(site_a).pk,
        "site_pk": site_a.pk,
        "adverse_event_pk": adverse_event.pk,
        "query_id": data_query.pk,
        "infrastructure/outboundemail": alert.email_id,
        "crf/safetyalert": alert.pk,
        "crf/visitreminder": reminder.pk,
        "report_id": report.pk,
        "export_id": export.pk,
    }


def survey_token(participant):
    """A valid survey link's token of ``participant`` at 2 weeks."""
    from crf.epro.links import new_nonce, token_digest, token_for
    from crf.models import SurveyInvitation

    nonce, today = new_nonce(), clock.today()
    invitation = SurveyInvitation.objects.create(
        participant=participant,
        visit="2w",
        channel="email",
        token_digest=f"pending-{nonce}",
        nonce=nonce,
        window_start=today,
        window_end=today,
        invited_on=today,
    )
    token = token_for(invitation.pk, nonce)
    invitation.token_digest = token_digest(token)
    invitation.save(update_fields=["token_digest"])
    return token


def closed_report_ready(*, released_by=None, withdrawn=False):
    """A ready closed report with its files (contents do not matter here):
    a draft, or released by ``released_by`` (and ``withdrawn``)."""
    from pathlib import Path

    from django.conf import settings

    from outcomes.models import Report

    release = {}
    if released_by is not None:
        release = {
            "released_at": timezone.now(),
            "released_by": released_by,
            "release_note": "Matrix",
        }
    if withdrawn:
        release.update(
            withdrawn_at=timezone.now(),
            withdrawn_by=released_by,
            withdrawal_reason="Matrix",
        )
    report = Report.objects.create(
        kind="closed",
        cutoff=clock.today(),
        status="ready",
        pdf_name="closed/matrix.pdf",
        json_name="closed/matrix.json",
        **release,
    )
    folder = Path(settings.REPORTS_ROOT) / "closed"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "matrix.pdf").write_bytes(b"%PDF-1.4 matrix")
    (folder / "matrix.json").write_text("{}")
    return report


def data_export_done(requested_by):
    """A done data export (its zip's contents do not matter here)."""
    import hashlib

    from outcomes.models import DataExport

    content = b"PK matrix"
    return DataExport.objects.create(
        requested_by=requested_by,
        forms=["death"],
        formats=["csv"],
        status="done",
        progress=100,
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
    )


def reoperation_alert(reoperation):
    from crf.models import SafetyAlert

    return SafetyAlert.objects.get(form_id=reoperation.pk, kind="reoperation")


# Routes whose study ID is not the still-eligible participant's.
STUDY_ID_FOR_ROUTE = {
    "randomization/participants/<str:study_id>/randomize/": "waiting_study_id",
    "randomization/participants/<str:study_id>/allocation/": "randomized_study_id",
    "randomization/participants/<str:study_id>/allocation.pdf": ("randomized_study_id"),
    "participants/<str:study_id>/contact/": "waiting_study_id",
}
# The CRF pages: the randomized participant's forms (PROTOCOL §7).
CRF_ROUTES = "participants/<str:study_id>/forms/"


def concrete_url(route: str, objects: dict) -> str:
    """Fill a route's parameters with real objects of the right kind."""
    model = re.match(r"admin/([a-z_]+/[a-z_]+)/", route)
    url = route
    replacements = {
        r"<str:study_id>": objects[
            "randomized_study_id"
            if route.startswith(CRF_ROUTES)
            else STUDY_ID_FOR_ROUTE.get(route, "study_id")
        ],
        r"<int:list_id>": str(objects["list_id"]),
        r"<uidb64>": "MQ",
        r"<str:token>": objects["survey_token"],
        r"<token>": "set-password",
        r"<path:content_type_id>": str(objects["content_type_id"]),
        r"<id>": str(objects["perform/user"]),
        ADMIN_APP_INDEX: "perform/",
        r"(?P<url>.*)$": "no-such-page/",
        r"^(?:.*/)?$": "no-such-page/",
        r"<str:key>/<int:pk>/": f"adverse-event/{objects['adverse_event_pk']}/",
        r"<str:key>/new/": "adverse-event/new/",
        r"<str:key>": "baseline",
        r"<str:visit>": "2w",
        r"<slug:indicator_code>": "screen_failure",
        r"<int:query_id>": str(objects["query_id"]),
        r"<int:report_id>": str(objects["report_id"]),
        r"<int:export_id>": str(objects["export_id"]),
        r"<int:user_id>": str(objects["user_id"]),
        "queries/new/": "queries/new/?form_type=crf.adverseevent&form_id="
        + str(objects["adverse_event_pk"]),
    }
    for placeholder, value in replacements.items():
        url = url.replace(placeholder, value)
    if "<path:object_id>" in url:
        if model and model.group(1) in objects:
            value = objects[model.group(1)]
        else:  # admin/r/<ct>/<object_id>/: a Site
            value = objects["site_pk"]
        url = url.replace("<path:object_id>", str(value))
    assert "<" not in url and "(?P" not in url, url
    if route == "reports/dataset/":
        url += "?cutoff=2025-12-01"
    return "/" + url


def outcome(response):
    if response.status_code == 302:
        location = response["Location"].split("?")[0]
        return ("redirect", location)
    return response.status_code


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_role_gets_expected_status_for_every_url(client, users, objects, role):
    if role != "anonymous":
        client.force_login(users[role])
    failures = []
    for route, cells in sorted(expectations().items()):
        url = concrete_url(route, objects)
        expected = cells[role]
        got = outcome(client.get(url, HTTP_ACCEPT="text/html"))
        if route.startswith("admin/") and expected == 302 and isinstance(got, tuple):
            got = 302  # object URL redirects to its change page
        if got != expected:
            failures.append(f"{role} GET {url}: expected {expected}, got {got}")
    assert not failures, "\n".join(failures)


# A closed report's URLs while it is a draft (only the statistician knows it
# exists) and once withdrawn (still listed and readable, no longer
# downloadable by the DSMB). Every role, every report URL.
REPORT_ROUTE = "reports/<int:report_id>/"
REPORT_DECISIONS = {
    REPORT_ROUTE + route: only({"statistician"}, 405)
    for route in ("release/", "withdraw/", "recommendation/")
}
REPORT_STATE_EXPECTED = {
    "draft": {
        **{
            REPORT_ROUTE + route: only({"statistician"}, denied=404)
            for route in ("", "status/", "pdf/", "json/")
        },
        **REPORT_DECISIONS,
    },
    "withdrawn": {
        **{
            REPORT_ROUTE + route: only({"statistician", "dsmb"}, denied=404)
            for route in ("", "status/")
        },
        **{
            REPORT_ROUTE + route: only({"statistician"}, denied=404)
            for route in ("pdf/", "json/")
        },
        **REPORT_DECISIONS,
    },
}


@pytest.mark.parametrize("state", REPORT_STATE_EXPECTED)
def test_every_report_url_has_an_expectation_in_every_state(state):
    report_routes = {r for r in all_routes() if r.startswith(REPORT_ROUTE)}
    assert set(REPORT_STATE_EXPECTED[state]) == report_routes


@pytest.mark.django_db
@pytest.mark.parametrize("state", REPORT_STATE_EXPECTED)
@pytest.mark.parametrize("role", ROLES)
def test_role_gets_expected_status_for_a_draft_or_withdrawn_report(
    client, users, role, state
):
    report = closed_report_ready(
        released_by=users["statistician"] if state == "withdrawn" else None,
        withdrawn=state == "withdrawn",
    )
    if role != "anonymous":
        client.force_login(users[role])
    failures = []
    for route, cells in sorted(REPORT_STATE_EXPECTED[state].items()):
        url = "/" + route.replace("<int:report_id>", str(report.pk))
        got = outcome(client.get(url, HTTP_ACCEPT="text/html"))
        if got != cells[role]:
            failures.append(
                f"{role} GET {url} ({state}): expected {cells[role]}, got {got}"
            )
    assert not failures, "\n".join(failures)
