"""Patient-reported outcomes (PROTOCOL §13): contact preferences, survey
invitations and reminders, the survey pages (by personal link or on a clinic
tablet), and completion figures.

* ``windows`` — when a visit's questionnaires may be answered (the one rule);
* ``links`` — the personal links' tokens;
* ``invitations`` — the hourly sweep that sends invitations and reminders;
* ``items`` and ``responses`` — what is asked and how answers are kept,
  submitted and copied into the visit's form;
* ``corrections`` — staff and the participant's answers (queries, paper).
"""
