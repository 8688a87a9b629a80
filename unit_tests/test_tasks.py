"""tasks: GET /v1/tasks, cursor-paginated, records under `entries`, primary key `task_uuid` (not `uuid`), full refresh."""

import json

from airbyte_cdk.test.mock_http import HttpResponse

from unit_tests.builders import api_request, assert_reads_three_pages_once, assert_records_match_schema, entries, page, read, sent_requests, template

FIRST_PAGE = {"per_page": "200"}


def test_given_one_page_when_read_then_emits_open_and_completed_tasks(http_mocker):
    http_mocker.get(api_request("tasks", FIRST_PAGE), HttpResponse(json.dumps(template("tasks"))))

    output = read("tasks")

    assert not output.errors
    open_task, done = [m.record.data for m in output.records]
    assert open_task["task_uuid"] == "e41b7c26-5a90-11ef-b2d4-7f3a1c9e0d85" and "uuid" not in open_task
    assert open_task["task_details"] == "Send the renewal quote for 40 seats."
    assert (open_task["assignee"], open_task["due_date"]) == ("jonas.b@chartmogul-customer.example", "2024-07-10T00:00:00.000Z")
    assert open_task.get("completed_at") is None  # an open task: null, which the protocol omits
    assert done["completed_at"] == "2024-05-19T14:03:27.918Z"
    assert sent_requests(http_mocker) == [("tasks", FIRST_PAGE)]
    assert_records_match_schema(output)


def test_given_three_pages_when_read_then_sends_each_cursor_once_and_reads_every_task_once(http_mocker):
    assert_reads_three_pages_once(http_mocker, "tasks", entries("tasks")[0], key="task_uuid")


def test_given_no_tasks_when_read_then_emits_no_record_and_no_error(http_mocker):
    http_mocker.get(api_request("tasks", FIRST_PAGE), page([], has_more=False))

    output = read("tasks")

    assert not output.errors and output.records == []
