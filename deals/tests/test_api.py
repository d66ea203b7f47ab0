import json
from http import HTTPStatus

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deals.models import Deal, DealSet
from deals.selectors import deals_report_slot
from deals.tests.helpers import MALFORMED, MALFORMED_AT, file_fault, post_deals, request_fault
from deals.tests.oracle import csv_bytes, oracle_report, oracle_rows_from_csv
from deals.tests.test_parsing import SEVERAL_ERRORS, SEVERAL_FAULTS, mangled_files

# Cache invalidation runs after commit: these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)

WHEN = "2018-12-14 08:29:52.506166"
FIRST = csv_bytes([["ann", "Ruby", "10", "1", WHEN], ["bob", "Ruby", "5.5", "1", WHEN]])
FIRST_REPORT = {
    "response": [
        {"username": "ann", "spent_money": 10, "gems": ["Ruby"]},
        {"username": "bob", "spent_money": 5.5, "gems": ["Ruby"]},
    ]
}


def test_upload_then_report_of_the_real_sample(auth_client, sample_csv):
    posted = post_deals(auth_client, sample_csv)
    got = auth_client.get(reverse("deals-api:deals"))

    assert (posted.status_code, posted.json()) == (HTTPStatus.OK, {"Status": "OK"})
    assert got.status_code == HTTPStatus.OK
    assert got.json() == {"response": oracle_report(oracle_rows_from_csv(sample_csv))}


def test_report_before_any_upload_is_empty(auth_client):
    got = auth_client.get(reverse("deals-api:deals"))

    assert (got.status_code, got.json()) == (HTTPStatus.OK, {"response": []})


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_is_401(api_client, method):
    response = getattr(api_client, method)(reverse("deals-api:deals"))

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert not DealSet.objects.exists()


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_upload_is_400_and_keeps_the_previous_answer(auth_client, case):
    (data, desc), (line, column) = MALFORMED[case], MALFORMED_AT[case]
    post_deals(auth_client, FIRST)

    refused = post_deals(auth_client, data)
    after = auth_client.get(reverse("deals-api:deals"))

    assert (refused.status_code, refused.json()) == (HTTPStatus.BAD_REQUEST, file_fault(desc, line, column))
    assert after.json() == FIRST_REPORT
    assert DealSet.objects.count() == 1
    assert Deal.objects.count() == 2


def test_missing_field_is_400(auth_client):
    response = auth_client.post(reverse("deals-api:deals"), {"other": "x"}, format="multipart")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == request_fault("Field 'deals': No file was submitted.")
    assert not DealSet.objects.exists()


def test_text_instead_of_a_file_is_400(auth_client):
    response = auth_client.post(reverse("deals-api:deals"), {"deals": "customer,item"}, format="multipart")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == request_fault(
        "Field 'deals': The submitted data was not a file. Check the encoding type on the form."
    )


def test_json_body_is_400_in_the_contract_shape(auth_client):
    response = auth_client.post(reverse("deals-api:deals"), {"deals": "x"}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == request_fault(
        "Send the file as multipart/form-data in the field 'deals' "
        '(Unsupported media type "application/json" in request.).'
    )


def test_broken_multipart_is_400(auth_client):
    response = auth_client.post(reverse("deals-api:deals"), data=b"--x\r\nbroken", content_type="multipart/form-data")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == request_fault(
        "Send the file as multipart/form-data in the field 'deals' "
        "(Multipart form parse error - Invalid boundary in multipart: None)."
    )


def test_file_over_the_size_limit_is_400(auth_client, settings):
    post_deals(auth_client, FIRST)
    settings.DEALS_MAX_UPLOAD_BYTES = len(FIRST) - 1

    response = post_deals(auth_client, FIRST)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == request_fault(f"The file is over the size limit of {len(FIRST) - 1} bytes (0 MB).")
    assert DealSet.objects.count() == 1


def test_body_over_the_size_limit_is_refused_before_reading(auth_client, settings):
    settings.DEALS_MAX_UPLOAD_BYTES = 1024

    response = post_deals(auth_client, b"x" * 200_000)

    assert (response.status_code, response.json()["Desc"]) == (
        HTTPStatus.BAD_REQUEST,
        "The file is over the size limit of 1024 bytes (0 MB).",
    )
    assert not DealSet.objects.exists()


def test_large_upload_streams_from_a_temporary_file(auth_client, settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024  # force Django to spool the upload to disk
    rows = [[f"c{n % 7}", f"g{n % 5}", str(n % 100), "1", WHEN] for n in range(5000)]
    data = csv_bytes(rows)

    response = post_deals(auth_client, data)

    assert response.status_code == HTTPStatus.OK
    assert auth_client.get(reverse("deals-api:deals")).json() == {"response": oracle_report(oracle_rows_from_csv(data))}


def test_an_accepted_upload_replaces_the_answer(auth_client, other_client):
    post_deals(auth_client, FIRST)
    assert auth_client.get(reverse("deals-api:deals")).json() == FIRST_REPORT

    post_deals(other_client, csv_bytes([["cid", "Opal", "1.25", "3", WHEN]]))

    assert auth_client.get(reverse("deals-api:deals")).json() == {
        "response": [{"username": "cid", "spent_money": 1.25, "gems": []}]
    }


def test_report_is_cached_and_a_cache_hit_skips_the_aggregates(auth_client, django_assert_num_queries):
    post_deals(auth_client, FIRST)
    auth_client.get(reverse("deals-api:deals"))  # fills the cache

    # The JWT's user, which data set is current and its answer all come from the cache.
    with django_assert_num_queries(0):
        hit = auth_client.get(reverse("deals-api:deals"))

    assert hit.json() == FIRST_REPORT
    stored = deals_report_slot().get()  # None unless stored under the current generation
    assert stored is not None
    assert json.loads(stored) == FIRST_REPORT


def test_cache_is_never_stale_after_an_upload(auth_client):
    post_deals(auth_client, FIRST)
    auth_client.get(reverse("deals-api:deals"))
    old_token = DealSet.objects.get().token

    post_deals(auth_client, csv_bytes([["dan", "Jade", "3", "1", WHEN]]))
    fresh = auth_client.get(reverse("deals-api:deals"))

    assert fresh.json() == {"response": [{"username": "dan", "spent_money": 3, "gems": []}]}
    assert DealSet.objects.get().token != old_token


def test_session_user_can_upload(client, user):
    client.force_login(user)

    response = client.post(reverse("deals-api:deals"), {"deals": SimpleUploadedFile("d.csv", FIRST)})

    assert (response.status_code, response.json()) == (HTTPStatus.OK, {"Status": "OK"})
    assert DealSet.objects.get().uploaded_by == user


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=mangled_files() | st.binary(max_size=120))
def test_any_upload_answers_in_the_contract_shape(auth_client, data):
    before = DealSet.objects.values_list("pk", flat=True).first()

    response = auth_client.post(
        reverse("deals-api:deals"), {"deals": SimpleUploadedFile("x.csv", data)}, format="multipart"
    )

    if response.status_code == HTTPStatus.OK:
        assert response.json() == {"Status": "OK"}
        assert DealSet.objects.get().rows >= 1
    else:
        assert response.status_code == HTTPStatus.BAD_REQUEST
        body = response.json()
        assert (set(body), body["Status"]) == ({"Status", "Desc", "Errors", "ErrorCount"}, "Error")
        assert body["Desc"].endswith(body["Errors"][0]["message"])
        assert len(body["Errors"]) == body["ErrorCount"]
        assert DealSet.objects.values_list("pk", flat=True).first() == before


def test_schema_documents_both_shapes(api_client):
    schema = api_client.get(reverse("schema"), {"format": "json"}).json()

    post = schema["paths"]["/api/deals/"]["post"]
    # 413 only for a form field over DATA_UPLOAD_MAX_MEMORY_SIZE; a file over the limit is a 400.
    assert set(post["responses"]) == {"200", "400", "401", "413", "414", "503"}
    assert "multipart/form-data" in post["requestBody"]["content"]
    assert set(schema["paths"]["/api/deals/"]["get"]["responses"]) == {"200", "401", "414", "503"}


def test_refusal_lists_every_fault_in_file_order(auth_client):
    data = SEVERAL_FAULTS.encode()

    refused = post_deals(auth_client, data)

    assert (refused.status_code, refused.json()) == (
        HTTPStatus.BAD_REQUEST,
        {
            "Status": "Error",
            "Desc": "Line 3: quantity must be a positive whole number, got '0'",
            "Errors": SEVERAL_ERRORS,
            "ErrorCount": 5,
        },
    )
    assert not DealSet.objects.exists()


def test_refusal_lists_the_first_thousand_faults_and_counts_them_all(auth_client):
    data = csv_bytes([["bob", "Ruby", "5", "0", WHEN]] * 1500)

    refused = post_deals(auth_client, data)

    message = "quantity must be a positive whole number, got '0'"
    assert (refused.status_code, refused.json()) == (
        HTTPStatus.BAD_REQUEST,
        {
            "Status": "Error",
            "Desc": f"Line 2: {message}",
            "Errors": [{"line": line, "column": 4, "message": message} for line in range(2, 1002)],
            "ErrorCount": 1500,
        },
    )


def _state() -> tuple:
    """The current data set, its raw rows and the cached GET answer."""
    return (
        list(DealSet.objects.values_list("pk", "token", "is_current", "rows")),
        sorted(Deal.objects.values_list("customer", "item", "total", "quantity", "date")),
        deals_report_slot().get(),
    )


@pytest.mark.parametrize("value", ["1", "true"])
def test_dry_run_counts_the_rows_and_changes_nothing(auth_client, value):
    post_deals(auth_client, FIRST)
    before_get = auth_client.get(reverse("deals-api:deals")).json()  # fills the cache
    before = _state()
    other = csv_bytes([["dan", "Jade", "3", "1", WHEN]] * 3)

    checked = auth_client.post(
        reverse("deals-api:deals") + f"?dry_run={value}",
        {"deals": SimpleUploadedFile("d.csv", other)},
        format="multipart",
    )
    after_get = auth_client.get(reverse("deals-api:deals")).json()

    assert (checked.status_code, checked.json()) == (HTTPStatus.OK, {"Status": "OK", "Rows": 3})
    assert before_get == after_get == FIRST_REPORT
    assert before[2] is not None
    assert _state() == before


def test_dry_run_of_a_bad_file_is_the_usual_400_and_changes_nothing(auth_client):
    post_deals(auth_client, FIRST)
    auth_client.get(reverse("deals-api:deals"))
    before = _state()

    checked = auth_client.post(
        reverse("deals-api:deals") + "?dry_run=1",
        {"deals": SimpleUploadedFile("d.csv", SEVERAL_FAULTS.encode())},
        format="multipart",
    )

    assert (checked.status_code, checked.json()) == (
        HTTPStatus.BAD_REQUEST,
        {
            "Status": "Error",
            "Desc": "Line 3: quantity must be a positive whole number, got '0'",
            "Errors": SEVERAL_ERRORS,
            "ErrorCount": 5,
        },
    )
    assert auth_client.get(reverse("deals-api:deals")).json() == FIRST_REPORT
    assert _state() == before


@pytest.mark.parametrize("value", ["0", "false"])
def test_dry_run_off_replaces_the_data_set(auth_client, value):
    post_deals(auth_client, FIRST)

    posted = auth_client.post(
        reverse("deals-api:deals") + f"?dry_run={value}",
        {"deals": SimpleUploadedFile("d.csv", csv_bytes([["dan", "Jade", "3", "1", WHEN]]))},
        format="multipart",
    )

    assert (posted.status_code, posted.json()) == (HTTPStatus.OK, {"Status": "OK"})
    assert auth_client.get(reverse("deals-api:deals")).json() == {
        "response": [{"username": "dan", "spent_money": 3, "gems": []}]
    }


@pytest.mark.parametrize("value", ["", "yes", "2", "TRUE"])
def test_any_other_dry_run_is_400(auth_client, value):
    post_deals(auth_client, FIRST)

    refused = auth_client.post(
        reverse("deals-api:deals") + f"?dry_run={value}",
        {"deals": SimpleUploadedFile("d.csv", FIRST)},
        format="multipart",
    )

    assert (refused.status_code, refused.json()) == (
        HTTPStatus.BAD_REQUEST,
        request_fault("Query parameter 'dry_run' must be one of 1, true, 0, false."),
    )
    assert auth_client.get(reverse("deals-api:deals")).json() == FIRST_REPORT


def test_schema_documents_the_faults_and_the_dry_run(api_client):
    schema = api_client.get(reverse("schema"), {"format": "json"}).json()

    post = schema["paths"]["/api/deals/"]["post"]
    components = schema["components"]["schemas"]
    error = components["DealsStatusErrorOutput"]
    fault = components["DealsFaultOutput"]
    assert post["parameters"] == [
        {
            "in": "query",
            "name": "dry_run",
            "schema": {"type": "string", "enum": ["0", "1", "false", "true"]},
            "description": post["parameters"][0]["description"],
        }
    ]
    assert set(error["required"]) == {"Status", "Desc", "Errors", "ErrorCount"}
    assert error["properties"]["Errors"]["items"] == {"$ref": "#/components/schemas/DealsFaultOutput"}
    assert set(fault["required"]) == {"line", "column", "message"}
    assert fault["properties"]["column"]["nullable"] is True
    assert components["DealsStatusOkOutput"]["required"] == ["Status"]
    assert components["DealsStatusOkOutput"]["properties"]["Rows"]["type"] == "integer"
