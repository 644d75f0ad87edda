"""The Dutch words of the demo programme: goals, conversation notes, meeting outcomes.

Stored data, not interface text: what learners, coaches and managers of a Dutch province would
have typed in. The seed picks from these lists with a random generator seeded by the tenant's
slug, so every run writes the same texts.
"""

from __future__ import annotations

#: Learning goals per training: (title, description).
GOALS: dict[str, tuple[tuple[str, str], ...]] = {
    "Effectief communiceren": (
        (
            "Mijn boodschap in overleggen kort en helder brengen",
            "Nu praat ik vaak lang voordat ik bij de kern ben.",
        ),
        (
            "Beter luisteren en doorvragen voordat ik reageer",
            "Ik merk dat ik al een antwoord klaar heb terwijl de ander nog praat.",
        ),
        (
            "Lastige gesprekken met inwoners rustig en duidelijk voeren",
            "Vooral aan de telefoon, als iemand boos is over een besluit.",
        ),
        ("Feedback geven die aankomt", "Concreet en op tijd, ook aan collega's die ik graag mag."),
    ),
    "Adviesvaardigheden": (
        (
            "Adviezen aan de gedeputeerde helder en onderbouwd opschrijven",
            "Eén pagina, met de afweging zichtbaar.",
        ),
        (
            "Met weerstand omgaan als mijn advies niet welkom is",
            "Niet meteen terugkrabbelen, wel blijven luisteren.",
        ),
        (
            "Eerder in het proces meedenken in plaats van achteraf toetsen",
            "Aan tafel zitten voordat het voorstel af is.",
        ),
        ("Mijn advies in drie zinnen kunnen samenvatten", ""),
    ),
    "Projectmatig werken": (
        (
            "Een projectplan opstellen met heldere mijlpalen",
            "Voor de herinrichting van de N-weg die ik volgend jaar trek.",
        ),
        (
            "Risico's vroeg signaleren en bespreekbaar maken",
            "Niet pas melden als het al misgaat.",
        ),
        ("Opdrachtgever en projectleider uit elkaar houden", "Wie beslist wat, en wanneer."),
        ("Grip houden op planning en budget", "Maandelijks een korte voortgangsrapportage."),
    ),
    "Presentatietechnieken": (
        (
            "Rustig en zeker presenteren in een commissie van Provinciale Staten",
            "Minder zenuwen, meer contact met de zaal.",
        ),
        ("Een presentatie opbouwen rond één kernboodschap", ""),
        (
            "Met vragen en kritiek uit de zaal omgaan",
            "Vooral op informatieavonden in het gebied.",
        ),
        ("Minder tekst op mijn dia's", "Het verhaal vertel ik, niet de dia."),
    ),
    "Onderhandelen": (
        (
            "Belangen achter standpunten van gemeenten leren zien",
            "Bij de regionale afspraken over woningbouw.",
        ),
        ("Beter voorbereiden op onderhandelingen met partners", "Met een BATNA op papier."),
        ("Zakelijk blijven als het gesprek persoonlijk wordt", ""),
        ("Samen naar oplossingen zoeken in plaats van te ruilen", ""),
    ),
}
GENERIC_GOALS = (
    ("Het geleerde direct toepassen in mijn eigen werk", ""),
    ("Vaker om feedback vragen bij collega's", ""),
)

LATENT_NEEDS = (
    "Onder het doel over communiceren bleek iets anders te zitten: ik vind het lastig om nee te "
    "zeggen. Daar wil ik ook aan werken.",
    "Ik twijfel of ik op de goede plek zit in mijn team. Fijn dat we daar even bij stil stonden.",
    "Eigenlijk wil ik op termijn projectleider worden; dat had ik nog niet hardop gezegd.",
    "Ik merk dat de werkdruk meespeelt. We hebben afgesproken dat ik dat ook met mijn "
    "leidinggevende bespreek.",
)

MANAGER_EXPECTATIONS = (
    "Dat hij of zij in het team meer het voortouw neemt en dat collega's dat merken.",
    "Dat de adviezen aan het bestuur korter en scherper worden, met de afweging erin.",
    "Dat lopende projecten beter beheerst worden: op tijd signalen over planning en geld.",
    "Meer zelfvertrouwen in contact met bestuurders en partners buiten de provincie.",
)
MANAGER_CONTRIBUTIONS = (
    "Ik geef ruimte in de agenda voor de training en bespreek het traject elke maand kort in "
    "ons werkoverleg.",
    "Ik zorg voor een oefenkans: het volgende overleg met de gemeenten mag zij voorzitten.",
    "Ik geef na elk stuk dat naar het bestuur gaat binnen een week feedback.",
    "Ik neem hem mee naar de commissievergadering en we bespreken die samen na.",
)

PROGRESS = (
    "Gaat de goede kant op: twee keer bewust geoefend en het voelde al natuurlijker.",
    "Nog lastig. In het overleg van vorige week viel ik terug in oude gewoonten.",
    "Een collega gaf spontaan terug dat het verschil merkbaar is.",
    "Heb een eerste versie gemaakt en besproken met mijn leidinggevende; volgende stap is het "
    "echt toepassen.",
)
PROGRESS_NOTES = (
    "Vertrouwelijk: spanning in het team maakt het lastig om te oefenen. We kijken samen hoe ik "
    "daar ruimte in vind.",
    "Vertrouwelijk: ik merk dat ik onzeker word van de reacties van één collega. Besproken hoe ik "
    "daarmee omga.",
    "Goed gesprek over wat ik zelf wil, los van wat er van mij verwacht wordt.",
    "Mijn leercoach vroeg door op waarom ik dit doel belangrijk vind. Dat hielp.",
)
NEXT_STEPS = (
    "Voor het volgende gesprek twee keer oefenen in het werkoverleg.",
    "Feedback vragen aan twee collega's en die meenemen naar het volgende gesprek.",
    "Het projectplan afmaken en voorleggen aan de opdrachtgever.",
    "Een korte presentatie voorbereiden voor het teamoverleg.",
)

EVALUATION_NOTES = (
    "Duidelijke groei, vooral zichtbaar in overleggen met externe partners.",
    "Het eerste doel is ruim gehaald; aan het tweede blijven we samen werken.",
    "Meer zelfvertrouwen en een andere houding in het team. Mooi traject.",
)

APPLICATION_PLANS = (
    "Ik bereid elk overleg voor met één kernboodschap op papier en vraag na afloop één collega "
    "om feedback.",
    "In het komende kwartaal trek ik zelf het project voor de fietsroute, met een plan volgens de "
    "methode uit de training.",
    "Ik presenteer in de volgende commissievergadering zelf het voorstel, en oefen vooraf met mijn "
    "leercoach.",
    "Elke maand plan ik een half uur om mijn adviezen terug te lezen: korter, scherper, met de "
    "afweging erin.",
)
APPLIED = (
    "Ik heb het geleerde gebruikt bij twee lastige overleggen met gemeenten; het liep beter dan "
    "vroeger.",
    "Mijn adviezen zijn korter geworden. De gedeputeerde vroeg zelf waar die verandering vandaan "
    "kwam.",
    "Het projectplan staat en wordt door het team gebruikt. De risicolijst bespreken we wekelijks.",
    "Ik heb drie keer gepresenteerd; de zenuwen zijn er nog, maar ze zitten me niet meer in de "
    "weg.",
)
TIPS_GIVEN = (
    "Begin klein: één gesprek per week waarin je het bewust toepast.",
    "Vraag je leidinggevende om een concrete oefenkans, dan gebeurt het ook echt.",
    "Schrijf je kernboodschap op een briefje en leg het voor je neer.",
)
TIPS_RECEIVED = (
    "Neem een collega mee als maatje die je na afloop feedback geeft.",
    "Plan na elke presentatie vijf minuten om op te schrijven wat goed ging.",
    "Gebruik de stilte: na een vraag even wachten is geen zwakte.",
)

CONSOLIDATION_OUTCOME = (
    "Iedere deelnemer presenteerde zijn of haar borgingsplan aan de groep. Terugkerend thema: "
    "oefenkansen in het eigen werk organiseren, met steun van de leidinggevende. De groep spreekt "
    "af elkaar bij de terugkomdag te vertellen wat er van de plannen terechtkwam."
)
RETURN_DAY_OUTCOME = (
    "Drie maanden later: de meeste plannen zijn in gang gezet. Wat hielp: een vast moment in het "
    "werkoverleg en een collega als maatje. Wat lastig bleef: werkdruk. Tips uitgewisseld over "
    "kleine stappen en het vragen om feedback."
)

WITHDRAWAL_REASON = (
    "Op eigen verzoek gestopt: door een reorganisatie op de afdeling past de training nu niet. "
    "Later opnieuw aanmelden kan."
)
DECLINE_REASON = (
    "Deze editie is voor collega's die nu aan omgevingsplannen werken; daar sluit je huidige werk "
    "nog niet op aan. Bespreek met je leidinggevende of de volgende editie past."
)
SKIP_INTAKE_REASON = (
    "De leidinggevende was langdurig afwezig. De verwachtingen zijn per e-mail afgestemd en "
    "bij de evaluatie meegenomen."
)
COACH_CHANGE_REASON = (
    "De leercoach is voorlopig uit de pool (langdurig verlof); het traject gaat verder met een "
    "andere leercoach."
)
MOTIVATIONS = (
    "Ik werk dagelijks met de Omgevingswet en wil de samenhang tussen visie, programma en "
    "verordening beter snappen.",
    "In mijn nieuwe rol adviseer ik gemeenten over omgevingsplannen; deze kennis heb ik nodig.",
    "Mijn leidinggevende raadde de training aan na het project rond de windparken.",
    "Ik wil in het team het aanspreekpunt worden voor vragen over de Omgevingswet.",
)

COACH_INTRODUCTIONS = (
    "Ik stel vooral vragen: jij bepaalt waar het gesprek over gaat.",
    "Al een paar jaar leercoach en nog steeds nieuwsgierig naar hoe collega's leren.",
    "Ik help je graag je leervraag scherp te krijgen, ook als die nog vaag voelt.",
    "Zelf ooit begonnen als deelnemer; nu geef ik graag iets terug.",
)

COACH_DAY_PROGRAMME = (
    "Ochtend: intervisie in kleine groepen aan de hand van eigen casussen. Middag: workshop "
    "'doorvragen zonder te sturen' (zelfsturend leren) en afspraken voor het komende half jaar."
)
COACH_DAY_RECORD = (
    "Uitgewisseld: hoe houd je het gesprek bij de leerdoelen van de deelnemer zonder zelf "
    "oplossingen aan te dragen? Tip van de dag: vraag 'wat heb jij nodig?' in plaats van 'zal ik "
    "...'. Gesignaleerd: intakegesprekken schuiven vaak door als de leidinggevende weinig tijd "
    "heeft; voorstel om die direct bij de aanmelding in te plannen. Volgende keer: casus rond "
    "vertrouwelijkheid en wat je wel en niet met de leidinggevende deelt."
)
UPCOMING_COACH_DAY_PROGRAMME = (
    "Ochtend: terugblik op het afgelopen half jaar en de trajecten die vastliepen. Middag: "
    "training 'coachen op afstand' met een externe trainer."
)

SESSION_TOPICS = (
    "Kennismaking en leervragen",
    "Theorie en eerste oefeningen",
    "Oefenen met casussen uit het eigen werk",
    "Verdieping en feedback",
    "Afronding en vooruitblik",
)

#: What the manager expects to see at work (expected results at the intake).
EXPECTED_RESULTS = [
    "Adviezen aan het college passen op één A4 en beginnen met de vraag die beantwoord wordt.",
    "Overleggen met gemeenten en partners krijgen een agenda en een duidelijke afspraak.",
    "Collega's vragen hem of haar vaker om mee te denken over een lastig dossier.",
    "Projecten hebben een planning die het team zelf bijhoudt.",
    "In het teamoverleg brengt zij elke maand een eigen voorstel in.",
    "Presentaties aan het bestuur duren korter en leiden tot een besluit.",
]
#: Examples given with a rating.
RATING_EXAMPLES = [
    "Het advies over de fietsroute werd in één keer aangenomen.",
    "Bij het overleg met de waterschappen heb ik de agenda vooraf rondgestuurd.",
    "",
    "Nog niet aan toegekomen door de reorganisatie.",
    "",
]
