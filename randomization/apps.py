from django.apps import AppConfig


class RandomizationConfig(AppConfig):
    name = "randomization"
    verbose_name = "Randomization"

    def ready(self):
        from perform.panels import (
            ParticipantPanel,
            ParticipantResourcePart,
            participant_panel_register,
            participant_resource_part_register,
        )
        from randomization import checks  # noqa: F401 - registers the system check
        from randomization.api import AllocationOutputSerializer, allocation_data
        from randomization.selectors import participant_allocation_panel

        # The allocation on the participant page and in the API resource.
        participant_panel_register(
            ParticipantPanel(
                key="allocation",
                template="randomization/includes/participant_allocation.html",
                context=participant_allocation_panel,
                place="top",
            )
        )
        participant_resource_part_register(
            ParticipantResourcePart(
                name="allocation",
                value=allocation_data,
                schema=AllocationOutputSerializer(allow_null=True),
            )
        )
