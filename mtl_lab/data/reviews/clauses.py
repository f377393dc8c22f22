"""The clauses that review templates are made of, by domain, pre-split into words.

An entity clause (``ENTITY_CLAUSES``) tells what happened, with at least one name slot and no opinion:
``{PER}`` a person, ``{ORG}`` an organisation of the domain, ``{LOC}`` a location. An opinion clause
(``OPINION_CLAUSES`` of a domain, ``GENERIC_OPINIONS`` of any domain) holds at least one opinion slot:
``{ADJ}`` (after a verb, may be negated: ``not very clean``), ``{ATTR}`` (before a noun, never negated),
``{FEEL}`` (the writer's feeling: ``never disappointed``) or ``{REC}`` (``recommend``, ``never
recommend``), sometimes with a name slot too. Clauses are pooled by position (:mod:`.pools`): the 7th and
8th of every 8 are validation and test clauses, which use only words that training clauses use too.
"""

from __future__ import annotations

ENTITY_CLAUSES: dict[str, tuple[str, ...]] = {
    "product": (
        *("I bought a blender from {ORG}", "I ordered headphones from {ORG} in {LOC}"),
        *("{PER} sold me a laptop at the {ORG} store", "my phone from {ORG} was shipped from {LOC}"),
        *("I have used a {ORG} camera for a month", "{PER} from {ORG} set up my new printer"),
        *("I ordered a camera from {ORG} for {PER}", "my sister {PER} bought a laptop from {ORG} in {LOC}"),
    ),
    "support": (
        *("I called {ORG} about my bill", "{PER} at {ORG} looked into my account"),
        *("I spoke to {PER} from {ORG} twice", "I visited the {ORG} office in {LOC}"),
        *("my contract with {ORG} ended last month", "I switched to {ORG} after moving to {LOC}"),
        *("{PER} from the {ORG} office called me", "I spoke to {ORG} about my account in {LOC}"),
    ),
    "restaurant": (
        *("we had dinner at {ORG} in {LOC}", "I took my parents to {ORG}"),
        *("our waiter {PER} brought the menu", "we had lunch at the {ORG} near the station in {LOC}"),
        *("the chef , {PER} , came to our table", "we booked a table at {ORG} for {PER}"),
        *("we had dinner with {PER} at {ORG}", "my parents took me to {ORG} in {LOC}"),
    ),
    "hotel": (
        *("we stayed three nights at {ORG} in {LOC}", "I booked {ORG} for a conference in {LOC}"),
        *("{PER} at the front desk checked us in", "we spent a weekend at {ORG}"),
        *("{PER} from {ORG} showed us to our room", "we stayed at {ORG} near the harbour"),
        *("we booked three nights at {ORG} for a conference", "{PER} checked us in at {ORG} in {LOC}"),
    ),
    "airline": (
        *("we flew with {ORG} from {LOC} to {LOC}", "I took a {ORG} flight to {LOC}"),
        *("{PER} at the {ORG} desk checked our bags", "our pilot , {PER} , kept us informed"),
        *("I flew {ORG} to {LOC} last month", "we flew from {LOC} with {ORG}"),
        *("{PER} and I took a {ORG} flight from {LOC}", "I flew with {ORG} to {LOC} for a conference"),
    ),
    "travel": (
        *("we took the train from {LOC} to {LOC} with {ORG}", "our guide {PER} from {ORG} showed us around"),
        *("we took a {ORG} bus tour around {LOC}", "{PER} planned our trip to {LOC}"),
        *("I travelled with {ORG} to {LOC}", "my sister {PER} booked a tour with {ORG}"),
        *("our guide {PER} showed us around {LOC}", "we took a {ORG} train to {LOC}"),
    ),
    "shop": (
        *("I bought shoes at {ORG} in {LOC}", "the cashier , {PER} , checked my order"),
        *("I ordered a jacket from {ORG}", "{PER} showed me around the {ORG} store"),
        *("we went shopping at {ORG} in {LOC}", "I bought a gift for {PER} at {ORG}"),
        *("I bought a jacket at the {ORG} store in {LOC}", "{PER} sold me shoes at {ORG}"),
    ),
    "delivery": (
        *("my parcel from {LOC} was delivered by {ORG}", "{ORG} moved our furniture to {LOC}"),
        *("the driver , {PER} , brought the package", "I used {ORG} to send documents to {PER}"),
        *("{ORG} delivered my order to {LOC}", "the courier from {ORG} arrived in {LOC}"),
        *("{PER} from {ORG} delivered the package", "I used {ORG} to send a parcel to {LOC}"),
    ),
}
OPINION_CLAUSES: dict[str, tuple[str, ...]] = {
    "product": (
        *("the battery was {ADJ}", "the screen is {ADJ}", "the sound was {ADJ}", "it is a {ATTR} laptop"),
        *(
            "the {ORG} app is {ADJ}",
            "{PER} in the store was {ADJ}",
            "the printer is {ADJ}",
            "the camera was {ADJ}",
        ),
    ),
    "support": (
        *("the answers were {ADJ}", "the support team was {ADJ}", "switching was a {ATTR} decision"),
        *("{PER} was {ADJ}", "the call was {ADJ}", "the staff at {ORG} were {ADJ}"),
        *("the support was {ADJ}", "the team at {ORG} was {ADJ}"),
    ),
    "restaurant": (
        *(
            "the food was {ADJ}",
            "the pasta was {ADJ}",
            "the desserts are {ADJ}",
            "{ORG} serves {ATTR} coffee",
        ),
        *(
            "the portions were {ADJ}",
            "our waiter {PER} was {ADJ}",
            "the coffee was {ADJ}",
            "the menu was {ADJ}",
        ),
    ),
    "hotel": (
        *("the room was {ADJ}", "the breakfast was {ADJ}", "the beds were {ADJ}", "it was a {ATTR} weekend"),
        *("the pool at {ORG} was {ADJ}", "{PER} at the front desk was {ADJ}", "the pool was {ADJ}"),
        "the room at {ORG} was {ADJ}",
    ),
    "airline": (
        *("the crew were {ADJ}", "the seats were {ADJ}", "the flight was {ADJ}", "boarding was {ADJ}"),
        *(
            "the crew on {ORG} were {ADJ}",
            "the landing in {LOC} was {ADJ}",
            "the seats on the flight were {ADJ}",
        ),
        "boarding in {LOC} was {ADJ}",
    ),
    "travel": (
        *(
            "the trip was {ADJ}",
            "the tickets were {ADJ}",
            "the station in {LOC} was {ADJ}",
            "the train was {ADJ}",
        ),
        *(
            "it was a {ATTR} tour",
            "our guide was {ADJ}",
            "the bus was {ADJ}",
            "the tour around {LOC} was {ADJ}",
        ),
    ),
    "shop": (
        *("the prices at {ORG} are {ADJ}", "the selection was {ADJ}", "the shoes were {ADJ}"),
        *("shopping there is always a {ATTR} experience", "the cashier was {ADJ}", "the store is {ADJ}"),
        *("the jacket was {ADJ}", "the shoes at {ORG} were {ADJ}"),
    ),
    "delivery": (
        *("the package was {ADJ}", "the driver was {ADJ}", "tracking was {ADJ}", "it was a {ATTR} delivery"),
        *(
            "the movers were {ADJ}",
            "the courier was {ADJ}",
            "the parcel was {ADJ}",
            "the delivery to {LOC} was {ADJ}",
        ),
    ),
}
GENERIC_OPINIONS = (
    *("I was {FEEL}", "we were {FEEL}", "the service was {ADJ}", "the staff were {ADJ}"),
    *("the price was {ADJ}", "it was {ADJ}", "the people were {ADJ}", "we were {FEEL} with it"),
    *("I would {REC} them", "the whole thing was {ADJ}", "we would {REC} it to friends"),
    *("it was a {ATTR} experience", "the people there were {ADJ}", "I am {FEEL} with it"),
    *("I would {REC} it", "the whole service was {ADJ}", "honestly , it was {ADJ}", "my family was {FEEL}"),
    *("the value for money was {ADJ}", "the experience was {ADJ}", "we all thought it was {ADJ}"),
    *("I will {REC} them", "honestly , the staff were {ADJ}", "my family was {FEEL} with the service"),
    *(
        "the whole experience was {ADJ}",
        "it was a {ATTR} service",
        "I felt {FEEL}",
        "the staff were {ADJ} to us",
    ),
    *("we will {REC} them to friends", "I was {FEEL} with the price", "we thought the price was {ADJ}"),
    "it was a {ATTR} experience for my family",
)
