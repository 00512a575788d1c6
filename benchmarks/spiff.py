"""The SpiffWorkflow reference: a BPMN process of six user tasks in sequence (the happy path of
hz-recognition-2025h1 after submission), run as a request would run it — load the instance's JSON,
complete the ready user task, run the engine steps, save the JSON. No database, as in the issue's
reference figure (SpiffWorkflow 3.2: ~1,200/s on this kind of machine)."""

from __future__ import annotations

import time
from typing import Any

TASKS = ("employer_review", "employer_notice", "management_review", "paper_submission", "assessment",
         "publication")


def bpmn_xml() -> str:
    parts = ['<bpmn:startEvent id="start"/>']
    previous = "start"
    for i, task in enumerate(TASKS):
        parts.append(f'<bpmn:userTask id="{task}" name="{task}"/>')
        parts.append(f'<bpmn:sequenceFlow id="flow{i}" sourceRef="{previous}" targetRef="{task}"/>')
        previous = task
    parts.append('<bpmn:endEvent id="certified"/>')
    parts.append(f'<bpmn:sequenceFlow id="flow_end" sourceRef="{previous}" targetRef="certified"/>')
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" '
            'targetNamespace="zcflow-benchmark">'
            f'<bpmn:process id="round" isExecutable="true">{"".join(parts)}</bpmn:process>'
            '</bpmn:definitions>')


def available() -> bool:
    try:
        import SpiffWorkflow  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        return False
    return True


def request_steps(n: int) -> tuple[float, int]:
    """Seconds for `n` request steps, cycling over instances at each of the six tasks; and the
    size of a stored instance in bytes."""
    from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser  # type: ignore[import-untyped]
    from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer  # type: ignore[import-untyped]
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # type: ignore[import-untyped]
    from SpiffWorkflow.util.task import TaskState  # type: ignore[import-untyped]

    parser = BpmnParser()
    parser.add_bpmn_str(bpmn_xml().encode())
    spec = parser.get_spec("round")
    serializer = BpmnWorkflowSerializer()
    workflow = BpmnWorkflow(spec)
    workflow.do_engine_steps()
    stored: list[str] = []
    for _ in TASKS:  # one stored instance waiting at each user task
        stored.append(serializer.serialize_json(workflow))
        task = workflow.get_next_task(state=TaskState.READY, manual=True)
        assert task is not None
        task.run()
        workflow.do_engine_steps()
    assert workflow.is_completed()

    def step(text: str) -> str:
        instance: Any = serializer.deserialize_json(text)
        ready = instance.get_next_task(state=TaskState.READY, manual=True)
        ready.run()
        instance.do_engine_steps()
        return str(serializer.serialize_json(instance))

    step(stored[0])  # warm up
    t0 = time.perf_counter()
    for i in range(n):
        step(stored[i % len(stored)])
    return time.perf_counter() - t0, len(stored[0])
