"""Queries where the data is (issue 15): the queried field carries a marker
and its thread on the form's page (edit and read-only views); the site answers
there, the data manager raises and closes there, back at the field; another
site's users reach none of it (404)."""

import re

import pytest
from crispy_forms.layout import HTML, Field, Fieldset, Layout
from django.contrib.auth.models import Permission
from django.urls import reverse

from crf.models import DataQuery
from crf.queries import services as queries
from crf.queries.markers import FieldQueries, FormQueryMarkers, layout_add_query_markers
from tests.crf.queries.test_services import operative_save

pytestmark = pytest.mark.django_db

QUESTION = "Blood loss 400 mL: please confirm from the anaesthetic chart."


@pytest.fixture
def operative(users, randomized):
    return operative_save(users["coordinator"], randomized)


@pytest.fixture
def query(users, operative):
    return queries.query_raise(
        actor=users["datamanager"],
        form=operative,
        field_name="blood_loss_ml",
        text=QUESTION,
    )


def form_page(operative) -> str:
    return reverse(
        "crf:single_edit", args=[operative.participant.study_id, "operative"]
    )


def page_html(client, user, operative) -> str:
    client.force_login(user)
    response = client.get(form_page(operative))
    assert response.status_code == 200
    return response.content.decode()


def test_the_coordinator_sees_the_marker_and_thread_right_after_the_field(
    client, users, query, operative
):
    html = page_html(client, users["coordinator"], operative)
    field = html.index('id="div_id_blood_loss_ml"')
    marker = html.index('id="query-marker-blood_loss_ml"')
    next_field = html.index('id="div_id_transfusion_units"')
    assert field < marker < next_field
    thread = html[marker:next_field]
    assert "Query open" in thread and QUESTION in thread
    assert "by datamanager" in thread
    assert f'id="query-thread-{query.pk}" open>' in thread
    # Site-local time with its zone named (Toronto: EST or EDT).
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d E[SD]T", thread)
    # The answer box is the site's; nothing to close or raise.
    assert f'form="query-{query.pk}-answer"' in thread
    assert f"query-{query.pk}-close" not in html
    assert "Raise query" not in html
    # Its <form> element is outside the CRF form (forms do not nest).
    crf_form_end = html.index("</form>", html.index('id="crf-operative"'))
    assert html.index(f'<form id="query-{query.pk}-answer"') > crf_form_end
    # Only the queried field is marked.
    assert html.count('id="query-marker-') == 1


def test_answering_on_the_form_returns_to_the_field_with_a_message(
    client, users, query, operative
):
    client.force_login(users["coordinator"])
    response = client.post(
        reverse("queries:detail", args=[query.pk]),
        {"action": "answer", "text": "Confirmed, 400 mL.", "return_to": "form"},
        follow=True,
    )
    assert response.redirect_chain == [
        (f"{form_page(operative)}#div_id_blood_loss_ml", 302)
    ]
    html = response.content.decode()
    assert "Your answer has been sent" in html
    marker = re.search(r'id="query-marker-blood_loss_ml"[^>]*>([^<]*)<', html)
    assert marker.group(1) == "Query answered"
    assert "Confirmed, 400 mL." in html
    assert f'form="query-{query.pk}-answer"' not in html
    query.refresh_from_db()
    assert query.status == DataQuery.Status.ANSWERED


def test_an_empty_answer_is_refused_with_the_error_shown(client, users, query):
    client.force_login(users["coordinator"])
    response = client.post(
        reverse("queries:detail", args=[query.pk]),
        {"action": "answer", "text": "", "return_to": "form"},
    )
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    query.refresh_from_db()
    assert query.status == DataQuery.Status.OPEN


def test_the_data_manager_raises_from_the_field_and_closes_there(
    client, users, query, operative
):
    dm = users["datamanager"]
    html = page_html(client, dm, operative)
    # The read-only view: marker in the field's row, raise box on every field.
    row = html[html.index('id="div_id_blood_loss_ml"') :]
    row = row[: row.index("<dt")]
    assert 'id="query-marker-blood_loss_ml"' in row and QUESTION in row
    assert f'form="query-{query.pk}-close"' in row
    assert f'form="query-{query.pk}-answer"' not in row
    # Waiting for the site: folded for the data manager (unfolded for the site).
    assert f'id="query-thread-{query.pk}">' in row
    assert 'id="raise-query-duration_min"' in html
    assert 'id="raise-query-form"' in html  # the whole form, at the top

    response = client.post(
        reverse("queries:new") + f"?form_type=crf.operative&form_id={operative.pk}",
        {"field_name": "duration_min", "text": "95 min?", "return_to": "form"},
    )
    assert response["Location"] == f"{form_page(operative)}#div_id_duration_min"
    raised = DataQuery.objects.get(field_name="duration_min")
    assert (raised.form_id, raised.raised_by, raised.visit) == (operative.pk, dm, "")

    response = client.post(
        reverse("queries:detail", args=[query.pk]),
        {"action": "close", "text": "", "return_to": "form"},
        follow=True,
    )
    assert response.redirect_chain[-1][0].endswith("#div_id_blood_loss_ml")
    html = response.content.decode()
    assert "The query has been closed." in html
    assert 'id="query-marker-blood_loss_ml"' not in html
    assert 'id="query-marker-duration_min"' in html


def test_a_whole_form_query_sits_at_the_top(client, users, operative):
    queries.query_raise(
        actor=users["datamanager"], form=operative, field_name="", text="Whole?"
    )
    html = page_html(client, users["coordinator"], operative)
    top = html[html.index('id="form-queries"') : html.index('id="crf-operative"')]
    assert 'id="query-marker-form"' in top and "Whole?" in top


def test_the_raise_page_preselects_the_field_the_url_names(client, users, operative):
    client.force_login(users["datamanager"])
    response = client.get(
        reverse("queries:new")
        + f"?form_type=crf.operative&form_id={operative.pk}&field=implant"
    )
    assert response.context["form"]["field_name"].value() == "implant"


def test_another_sites_users_cannot_raise_or_answer(client, users, query, operative):
    outsider = users["coordinator2"]
    # A site-B account that may raise queries still sees only site B.
    outsider.user_permissions.add(
        Permission.objects.get(codename="raise_queries", content_type__app_label="crf")
    )
    client.force_login(outsider)
    assert client.get(form_page(operative)).status_code == 404
    answer = client.post(
        reverse("queries:detail", args=[query.pk]),
        {"action": "answer", "text": "Hi", "return_to": "form"},
    )
    assert answer.status_code == 404
    raised = client.post(
        reverse("queries:new") + f"?form_type=crf.operative&form_id={operative.pk}",
        {"field_name": "implant", "text": "Hi", "return_to": "form"},
    )
    assert raised.status_code == 404
    assert DataQuery.objects.count() == 1
    query.refresh_from_db()
    assert query.status == DataQuery.Status.OPEN


def test_markers_go_after_the_field_and_after_a_field_wrapper():
    layout = Layout(Fieldset("One", Field("a", css_class="x"), "b", "c"), "d")
    markers = FormQueryMarkers(
        fields={name: FieldQueries(name) for name in ("a", "c", "d")},
        whole_form=FieldQueries("form"),
        html_forms=[],
    )
    layout_add_query_markers(layout, markers)

    def shape(objects):
        return [
            f"marker:{o.html.split('fields.')[1].split(' ')[0]}"
            if isinstance(o, HTML)
            else (o if isinstance(o, str) else type(o).__name__)
            for o in objects
        ]

    fieldset = layout.fields[0]
    assert shape(fieldset.fields) == ["Field", "marker:a", "b", "c", "marker:c"]
    assert shape(layout.fields[1:]) == ["d", "marker:d"]
