from django.apps import AppConfig


class CrfConfig(AppConfig):
    name = "crf"
    verbose_name = "Case report forms"

    def ready(self):
        from crf.epro.audit import audit_record_kinds as epro_audit_record_kinds
        from crf.epro.panel import participant_contact_button, participant_epro_panel
        from crf.epro.tablet import tablet_panel

        # Registers the system check of the licensed instruments' wording file.
        from crf.forms import licensed_wording  # noqa: F401
        from crf.forms.audit import audit_record_kinds
        from crf.forms.hub import participant_forms_panel
        from crf.forms.selectors import pre_randomization_fracture_warnings
        from perform.audit_records import audit_record_kind_register
        from perform.panels import ParticipantPanel, participant_panel_register
        from randomization.confirmation import (
            PreRandomizationWarnings,
            pre_randomization_warnings_register,
        )

        # The case report forms hub on the participant page.
        participant_panel_register(
            ParticipantPanel(
                key="forms",
                template="crf/includes/participant_forms_panel.html",
                context=participant_forms_panel,
            )
        )
        # "Open questionnaires on this tablet" (crf.epro.tablet).
        participant_panel_register(
            ParticipantPanel(
                key="epro_tablet",
                template="crf/epro/includes/tablet_button.html",
                context=tablet_panel,
                place="top",
            )
        )
        # The questionnaires (ePRO) section, and the site staff's button to
        # the participant's contact preferences among the page's actions.
        participant_panel_register(
            ParticipantPanel(
                key="epro",
                template="crf/epro/includes/participant_epro_panel.html",
                context=participant_epro_panel,
                order=110,
            )
        )
        participant_panel_register(
            ParticipantPanel(
                key="epro_contact",
                template="crf/epro/includes/contact_button.html",
                context=participant_contact_button,
                place="actions",
            )
        )
        # The CRF and ePRO records in the audit trail, named as their pages name
        # them (crf.epro.audit: contact preferences for their site's staff only).
        for kind in [*audit_record_kinds(), *epro_audit_record_kinds()]:
            audit_record_kind_register(kind)
        # The randomize confirmation page warns of a baseline whose fracture
        # status disagrees with the one stratification uses (PROTOCOL §7).
        pre_randomization_warnings_register(
            PreRandomizationWarnings(
                key="baseline_fracture_status",
                warnings=pre_randomization_fracture_warnings,
            )
        )
