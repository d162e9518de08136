from django.apps import AppConfig


class CrfConfig(AppConfig):
    name = "crf"
    verbose_name = "Case report forms"

    def ready(self):
        from crf.forms.hub import participant_forms_panel
        from perform.panels import ParticipantPanel, participant_panel_register

        # The case report forms hub on the participant page.
        participant_panel_register(
            ParticipantPanel(
                key="forms",
                template="crf/includes/participant_forms_panel.html",
                context=participant_forms_panel,
            )
        )
