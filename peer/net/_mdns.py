"""DNS-SD over mDNS (python-zeroconf): a second way to find the class beside UDP beacons.

Some networks pass multicast where they drop broadcast, and every laptop OS already speaks
mDNS. Each peer announces one service of type ``_peerclass._tcp.local.`` whose TXT record
carries exactly what its beacon carries, as bytes: the beacon datagram itself (class hint,
peer id, port, time, instance, the identity's signature and the class MAC). So the TXT holds
no secret, a stranger cannot make us dial an address of its choosing (the MAC fails), and a
receiver checks it with the same :class:`BeaconFilter` rules (fresh, newer than the last).
The TXT is re-signed every ``refresh`` seconds, well within the beacon's two-minute age.

Zeroconf runs its own threads and asyncio loop. Its callbacks never touch Trio state: they
hand each TXT to the Trio task with ``trio.from_thread.run_sync`` and the run's token, into a
bounded channel that the task drains. Never used where discovery points at loopback
(``peer.net._node`` decides): nothing leaves the host's interfaces in tests or demos.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable

import trio
from zeroconf import IPVersion, ServiceBrowser, ServiceInfo, ServiceStateChange, Zeroconf

from peer.net._discovery import Beacon, BeaconFilter, BeaconSender

log = logging.getLogger("peerclass.mdns")

SERVICE_TYPE = "_peerclass._tcp.local."
#: The TXT key that holds the beacon.
TXT_KEY = b"b"
#: How long one service lookup may take in zeroconf's thread (ms).
LOOKUP_TIMEOUT_MS = 2000
#: TXT records waiting for the Trio task; more are dropped (the next refresh brings them).
QUEUE = 64


def _service_info(sender: BeaconSender, addresses: list[str]) -> ServiceInfo:
    """Our service: named by our peer id and instance (two copies never collide), the
    beacon in its TXT, at our interface addresses."""
    peer = bytes(sender.signing_key.verify_key).hex()[:16]
    label = f"pc-{peer}-{sender.instance.hex()}"
    return ServiceInfo(
        SERVICE_TYPE,
        f"{label}.{SERVICE_TYPE}",
        port=sender.port,
        properties={TXT_KEY: sender.next_datagram()},
        parsed_addresses=addresses,
        server=f"{label}.local.",
    )


async def run_mdns(
    sender: BeaconSender,
    beacon_filter: BeaconFilter,
    addresses: Callable[[], list[str]],
    on_beacon: Callable[[Beacon, str], None],
    *,
    refresh: float = 60.0,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Announce our service and browse the class's until cancelled: ``on_beacon(beacon,
    host)`` for each member's TXT that passes ``beacon_filter`` (a filter of its own, so its
    "newer than the last" does not race the UDP beacons')."""
    token = trio.lowlevel.current_trio_token()
    heard_send, heard_receive = trio.open_memory_channel[tuple[bytes, str]](QUEUE)

    def deliver(data: bytes, host: str) -> None:  # on the Trio thread
        with contextlib.suppress(trio.WouldBlock):
            heard_send.send_nowait((data, host))

    def on_change(
        zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:  # on zeroconf's thread: look up, then hand over; no Trio state touched here
        if state_change is ServiceStateChange.Removed:
            return
        info = zeroconf.get_service_info(service_type, name, timeout=LOOKUP_TIMEOUT_MS)
        if info is None:
            return
        data = (info.properties or {}).get(TXT_KEY)
        hosts = info.parsed_addresses(IPVersion.V4Only)
        if not isinstance(data, bytes) or not hosts:
            return
        with contextlib.suppress(trio.RunFinishedError):
            trio.from_thread.run_sync(deliver, data, hosts[0], trio_token=token)

    zc = await trio.to_thread.run_sync(functools.partial(Zeroconf, ip_version=IPVersion.V4Only))
    try:
        info = _service_info(sender, addresses())
        await trio.to_thread.run_sync(
            functools.partial(zc.register_service, info, allow_name_change=True)
        )
        await trio.to_thread.run_sync(
            functools.partial(ServiceBrowser, zc, SERVICE_TYPE, handlers=[on_change])
        )
        log.info("announcing and browsing %s by mDNS", SERVICE_TYPE)
        task_status.started()
        async with trio.open_nursery() as nursery:

            async def keep_fresh() -> None:
                nonlocal info
                while True:
                    await trio.sleep(refresh)
                    fresh = _service_info(sender, addresses())
                    if fresh.name == info.name:
                        await trio.to_thread.run_sync(zc.update_service, fresh)
                    info = fresh

            nursery.start_soon(keep_fresh)
            async for data, host in heard_receive:
                now_ms = int(time.time() * 1000)
                heard = beacon_filter.accept(data, host, trio.current_time(), now_ms)
                if isinstance(heard, Beacon):
                    on_beacon(heard, host)
    finally:
        # Unregisters our service (a goodbye packet) and stops zeroconf's threads; bounded.
        with trio.move_on_after(3, shield=True):
            await trio.to_thread.run_sync(zc.close, abandon_on_cancel=True)
