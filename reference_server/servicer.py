"""The gRPC face of the server: one unary method, Predict, handed to the Dispatcher."""

from __future__ import annotations

import logging

import grpc

from protos import ms_service_pb2 as pb
from protos import ms_service_pb2_grpc
from reference_server import replies
from reference_server.dispatch import Dispatcher
from reference_server.registry import SYSTEM_ERROR

log = logging.getLogger(__name__)


class PredictServicer(ms_service_pb2_grpc.MSServiceServicer):
    """Every application outcome travels in the reply with gRPC status OK (protocol.md §2)."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self._dispatcher = dispatcher

    def Predict(self, request: pb.PredictRequest, context: grpc.ServicerContext) -> pb.PredictReply:
        try:
            return self._dispatcher.predict(request)
        except Exception as exc:  # a bug of ours: still an answer, not a gRPC UNKNOWN
            log.exception("Predict failed")
            return replies.error_reply(
                request.servable_spec, SYSTEM_ERROR, f"Serving Error: internal error: {exc}"
            )


def add_to_server(server: grpc.Server, dispatcher: Dispatcher) -> None:
    ms_service_pb2_grpc.add_MSServiceServicer_to_server(PredictServicer(dispatcher), server)
