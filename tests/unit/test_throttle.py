"""Counting sign-ins (core/services/access/throttle.py)."""
import pytest

from core.services.access.throttle import AlreadySigningIn, ServerBusy, SignInSlots, client_network


def test_client_network_counts_an_ipv6_client_per_64_and_mapped_ipv4_as_ipv4():
    assert client_network("2001:db8::7") == client_network("2001:db8::ffff") == "2001:db8::/64"
    assert client_network("::ffff:192.0.2.1") == "192.0.2.1"
    assert client_network("not an address") == "not an address"


def test_sign_in_slots_allow_one_per_client_and_the_capacity_in_all():
    slots = SignInSlots()
    with slots.slot("client:192.0.2.1", 2):
        with pytest.raises(AlreadySigningIn), slots.slot("client:192.0.2.1", 2):
            pass
        with slots.slot("client:192.0.2.2", 2):
            with pytest.raises(ServerBusy), slots.slot("client:192.0.2.3", 2):
                pass
    with slots.slot("client:192.0.2.1", 1):  # given back
        pass
