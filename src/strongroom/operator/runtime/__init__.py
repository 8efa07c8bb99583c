"""Operator runtime: informers, a keyed work queue with capped retries, controllers, leader election,
health/metrics HTTP, Events and status conditions. Build controllers on it; see docs/operator.md."""

from strongroom.operator.runtime.conditions import StatusWriter, condition_changed, set_condition
from strongroom.operator.runtime.controller import Controller, PermanentError, Reconciler, Result, Watch
from strongroom.operator.runtime.events import NORMAL, WARNING, EventRecorder
from strongroom.operator.runtime.http import HttpApp, HttpServer, Request, Response
from strongroom.operator.runtime.informer import Informer, object_key
from strongroom.operator.runtime.leader import LeaderElector
from strongroom.operator.runtime.manager import Runtime
from strongroom.operator.runtime.workqueue import ExponentialBackoff, WorkQueue

__all__ = [
    "NORMAL",
    "WARNING",
    "Controller",
    "EventRecorder",
    "ExponentialBackoff",
    "HttpApp",
    "HttpServer",
    "Informer",
    "LeaderElector",
    "PermanentError",
    "Reconciler",
    "Request",
    "Response",
    "Result",
    "Runtime",
    "StatusWriter",
    "Watch",
    "WorkQueue",
    "condition_changed",
    "object_key",
    "set_condition",
]
