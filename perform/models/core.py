"""Trial core tables: sites, staff, participants, screening, consent, outbox.

Models hold tables and database constraints only; every write goes through
``perform.services`` and every participant read through ``perform.selectors``.
Each trial-data model is tracked by django-pghistory: Postgres triggers write an
append-only event row (old and new values, with the acting user and any reason
from ``pghistory.context``) for every insert, update and delete, whether it
comes from a view, the API, the admin, a shell or a bulk ``update()``.
"""

import zoneinfo

import pghistory
from django.contrib.auth.models import (
    AbstractUser,
    _auser_has_module_perms,
    _auser_has_perm,
    _user_has_module_perms,
    _user_has_perm,
)
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q


def audited():
    """Fresh trackers for one model (pghistory must not share tracker instances)."""
    return (pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())


def validate_time_zone(value):
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"'{value}' is not a known IANA time zone.")


@pghistory.track(*audited())
class Site(models.Model):
    """A recruiting hospital, identified by a 3-letter code (``TOR``)."""

    code = models.CharField(
        max_length=3,
        unique=True,
        validators=[RegexValidator(r"^[A-Z]{3}$", "Use three capital letters.")],
    )
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=100)
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    activation_date = models.DateField(null=True, blank=True)
    target_enrolment = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    # Last study-ID sequence issued at this site; incremented under a row lock
    # in the screening transaction, so a rolled-back screening leaves no gap.
    last_participant_number = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[A-Z]{3}$"), name="site_code_three_capitals"
            ),
        ]

    def __str__(self):
        return f"{self.code} – {self.name}"


@pghistory.track(*audited(), exclude=["password", "last_login"])
class User(AbstractUser):
    """A platform user; site staff are linked to one or more sites."""

    sites = models.ManyToManyField(
        Site, through="SiteMembership", related_name="staff", blank=True
    )
    receives_visit_reminders = models.BooleanField(
        default=True,
        help_text="Daily (site staff) or weekly (Methods Centre) digest of visits "
        "due and overdue.",
    )
    safety_contact = models.BooleanField(
        default=False,
        help_text="Methods Centre safety contact: receives every expedited alert "
        "of a serious adverse event, death or reoperation.",
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    def __str__(self):
        full = self.get_full_name()
        return f"{full} ({self.username})" if full else self.username

    # Django answers True for every permission of an active superuser. Here a
    # superuser is the system owner, whose permissions are its roles' plus
    # account administration (perform.backends), so the backends decide.
    def has_perm(self, perm, obj=None):
        return _user_has_perm(self, perm, obj) if self.is_active else False

    def has_module_perms(self, app_label):
        return _user_has_module_perms(self, app_label) if self.is_active else False

    async def ahas_perm(self, perm, obj=None):
        return await _auser_has_perm(self, perm, obj) if self.is_active else False

    async def ahas_module_perms(self, app_label):
        if not self.is_active:
            return False
        return await _auser_has_module_perms(self, app_label)


@pghistory.track(*audited())
class SiteMembership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="memberships")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "site"], name="one_membership_per_site"
            )
        ]

    def __str__(self):
        return f"{self.user} @ {self.site.code}"


@pghistory.track(*audited())
class EligibilityCriterion(models.Model):
    """One line of the PROTOCOL §4 checklist, kept as data.

    An inclusion criterion is met when answered *yes*; an exclusion criterion is
    met (i.e. does not exclude) when answered *no*: ``perform.eligibility``
    applies that rule, nothing else does. Informed consent is not a checklist
    line: it is the separate consent record.
    """

    class Kind(models.TextChoices):
        INCLUSION = "inclusion", "Inclusion"
        EXCLUSION = "exclusion", "Exclusion"

    code = models.SlugField(max_length=40, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    text = models.CharField(max_length=300)
    order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        # "inclusion" sorts after "exclusion": descending kind lists inclusion first.
        ordering = ["-kind", "order", "code"]
        verbose_name_plural = "eligibility criteria"

    def __str__(self):
        return f"{self.get_kind_display()}: {self.text}"


class ParticipantStatus(models.TextChoices):
    """PROTOCOL §3 lifecycle."""

    SCREENED = "screened", "Screened"
    INELIGIBLE = "ineligible", "Ineligible"
    ELIGIBLE = "eligible", "Eligible"
    DECLINED = "declined", "Declined"
    CONSENTED = "consented", "Consented"
    RANDOMIZED = "randomized", "Randomized"
    WITHDRAWN = "withdrawn", "Withdrawn"
    LOST_TO_FOLLOW_UP = "lost_to_follow_up", "Lost to follow-up"
    DIED = "died", "Died"
    COMPLETED = "completed", "Completed"


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other / not stated"


class FractureStatus(models.TextChoices):
    """Stratification factor (PROTOCOL §5)."""

    IMPENDING = "impending", "Impending fracture"
    COMPLETE = "complete", "Complete pathological fracture"


@pghistory.track(*audited())
class Participant(models.Model):
    """A screened patient. The study ID is issued at screening and never reused."""

    study_id = models.CharField(max_length=16, unique=True, editable=False)
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="participants"
    )
    sequence = models.PositiveIntegerField(editable=False)
    screening_date = models.DateField()
    age_at_screening = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(0), MaxValueValidator(120)]
    )
    year_of_birth = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1900), MaxValueValidator(2100)],
    )
    sex = models.CharField(max_length=10, choices=Sex.choices)
    # The one source of truth for fracture status: stratification uses it, and
    # it never changes after randomization. The baseline form's fracture status
    # only confirms it (crf.forms.rules.fracture_status_disagrees).
    fracture_status = models.CharField(
        max_length=10, choices=FractureStatus.choices, blank=True
    )
    screening_notes = models.TextField(
        blank=True, help_text="Other reasons for ineligibility, free text."
    )
    status = models.CharField(
        max_length=20,
        choices=ParticipantStatus.choices,
        default=ParticipantStatus.SCREENED,
    )
    status_changed_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", null=True
    )

    class Meta:
        ordering = ["site__code", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "sequence"], name="participant_sequence_unique_per_site"
            ),
            models.CheckConstraint(
                condition=Q(sequence__gte=1), name="participant_sequence_positive"
            ),
            models.CheckConstraint(
                condition=Q(study_id__regex=r"^PRF-[A-Z]{3}-[0-9]{4,}$"),
                name="participant_study_id_format",
            ),
        ]
        indexes = [models.Index(fields=["site", "status"])]
        permissions = [
            ("view_all_sites", "Can see participants at every site"),
            ("screen_participant", "Can screen participants and record consent"),
            ("view_screening_summary", "Can view the CONSORT screening summary"),
        ]

    def __str__(self):
        return self.study_id


@pghistory.track(*audited())
class ParticipantStatusChange(models.Model):
    """One lifecycle transition: who moved the participant, when, and why."""

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="status_changes"
    )
    from_status = models.CharField(
        max_length=20, choices=ParticipantStatus.choices, blank=True
    )
    to_status = models.CharField(max_length=20, choices=ParticipantStatus.choices)
    changed_at = models.DateTimeField()
    changed_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, related_name="+"
    )
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["participant", "changed_at", "id"]

    def __str__(self):
        return f"{self.participant}: {self.from_status or '–'} → {self.to_status}"


@pghistory.track(*audited())
class EligibilityAnswer(models.Model):
    """A participant's answer to one checklist line (``None`` = not yet known)."""

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="eligibility_answers"
    )
    criterion = models.ForeignKey(
        EligibilityCriterion, on_delete=models.PROTECT, related_name="answers"
    )
    answer = models.BooleanField(null=True)

    class Meta:
        ordering = ["-criterion__kind", "criterion__order"]
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "criterion"], name="one_answer_per_criterion"
            )
        ]

    def __str__(self):
        return f"{self.participant_id}/{self.criterion_id}: {self.answer}"


@pghistory.track(*audited())
class ConsentRecord(models.Model):
    """The patient's decision on the trial's consent form (given or declined)."""

    class Decision(models.TextChoices):
        GIVEN = "given", "Consent given"
        DECLINED = "declined", "Declined"

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="consents"
    )
    decision = models.CharField(max_length=10, choices=Decision.choices)
    decision_date = models.DateField()
    form_version = models.CharField(max_length=40, blank=True)
    obtained_by = models.CharField(
        max_length=200, help_text="Name of the person who took consent."
    )
    declined_reason = models.TextField(blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["participant", "decision_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(decision="given") | ~Q(form_version=""),
                name="consent_given_needs_form_version",
            )
        ]

    def __str__(self):
        return f"{self.participant}: {self.get_decision_display()} {self.decision_date}"
