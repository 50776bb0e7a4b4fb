"""The caps on new-mail streams (webmail/events.py): per person and per process."""
from webmail.events import Slots


def test_a_person_and_the_process_each_have_a_cap():
    slots = Slots()
    assert slots.take("anna@example.test", per_person=2, total=3)
    assert slots.take("anna@example.test", per_person=2, total=3)
    assert not slots.take("anna@example.test", per_person=2, total=3)  # her third tab waits
    assert slots.take("ben@example.test", per_person=2, total=3)
    assert not slots.take("carl@example.test", per_person=2, total=3)  # the process is full
    slots.give_back("anna@example.test")
    assert slots.take("carl@example.test", per_person=2, total=3)  # a freed slot is anyone's
    assert not slots.take("anna@example.test", per_person=2, total=3)
