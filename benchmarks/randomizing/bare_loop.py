"""The bare SQL path the service is compared with: lock the stratum's next
unused slot and assign it, on plain psycopg2 connections."""

import threading

import psycopg2


class BareLoop:
    """Lock the stratum's next unused slot and assign it, in plain SQL on one
    psycopg2 connection per thread (no ORM, no audit context, same triggers)."""

    NEXT = (
        "SELECT id FROM randomization_slot WHERE stratum_id = %s "
        "AND participant_id IS NULL ORDER BY sequence LIMIT 1 FOR UPDATE"
    )
    ASSIGN = (
        "UPDATE randomization_slot SET participant_id = %s, allocated_at = now(), "
        "allocated_by_id = %s WHERE id = %s"
    )

    def __init__(self, *, params: dict, stratum_of: dict[int, int], user_id: int):
        self.params = params
        self.stratum_of = stratum_of
        self.user_id = user_id
        self.local = threading.local()
        self.opened: list = []
        self.lock = threading.Lock()

    def connect(self):
        connection = getattr(self.local, "connection", None)
        if connection is None:
            connection = psycopg2.connect(**self.params)
            self.local.connection = connection
            with self.lock:
                self.opened.append(connection)
        return connection

    def assign(self, participant_id: int) -> None:
        connection = self.connect()
        with connection, connection.cursor() as cursor:  # one transaction
            cursor.execute(self.NEXT, [self.stratum_of[participant_id]])
            (slot_id,) = cursor.fetchone()
            cursor.execute(self.ASSIGN, [participant_id, self.user_id, slot_id])

    def close(self) -> None:
        for connection in self.opened:
            connection.close()
        self.opened.clear()
        self.local = threading.local()

    def release(self, participant_ids: list[int]) -> None:
        """Free the slots the loop took, so the next run starts from the same list."""
        connection = psycopg2.connect(**self.params)
        try:
            with connection, connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE randomization_slot SET participant_id = NULL, "
                    "allocated_at = NULL, allocated_by_id = NULL "
                    "WHERE participant_id = ANY(%s)",
                    [participant_ids],
                )
        finally:
            connection.close()
