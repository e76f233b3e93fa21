#include "seed_words.h"

#include <stdio.h>
#include <string.h>

#include "sg_event.h"
#include "sg_time.h"

/* Word lists. Names keep their accents (UTF-8); e-mails are built from
 * their ASCII transliteration. Nothing here is a real person's data. */

#define SG_LIST(a) a, sizeof(a) / sizeof(a[0])

typedef enum street_fmt {
        ST_NUM_FIRST,      /* "12 Main St" */
        ST_NUM_LAST,       /* "Hauptstraße 12" */
        ST_NUM_LAST_COMMA, /* "Calle Mayor, 12" */
        ST_CHOME,          /* "2-14-3 Ginza" */
} street_fmt_t;

typedef struct words {
        const char *const *first;
        size_t nfirst;
        const char *const *last;
        size_t nlast;
        const char *const *street;
        size_t nstreet;
        street_fmt_t fmt;
} words_t;

typedef struct country {
        const char *code;
        unsigned weight; /* per mille; the table sums to 1000 */
        const words_t *loc;
        const words_t *loc2; /* second language, or NULL */
        unsigned loc2_pct;   /* share of loc2, percent */
        const char *const *cities;
        size_t ncities;
        const char *postal; /* '#' digit, '@' letter, else literal */
} country_t;

/* German */
static const char *const de_first[] = {
    "Anna",  "Lukas", "Lena",   "Jürgen", "Sophie", "Maximilian",
    "Marie", "Felix", "Hannah", "Björn",  "Jonas",  "Katharina",
    "Paul",  "Sönke", "Laura",  "Tobias", "Leonie", "Günther"};
static const char *const de_last[] = {
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber",  "Meyer",  "Wagner",
    "Becker", "Schulz",  "Hoffmann",  "Schäfer", "Koch",   "Bauer",  "Richter",
    "Klein",  "Wolf",    "Schröder",  "Neumann", "Krüger", "Hofmann"};
static const char *const de_street[] = {
    "Hauptstraße",  "Bahnhofstraße",   "Gartenweg",  "Schillerstraße",
    "Goethestraße", "Lindenallee",     "Bergstraße", "Kirchgasse",
    "Am Markt",     "Friedrichstraße", "Mühlenweg",  "Rosenstraße"};
static const words_t loc_de = {SG_LIST(de_first), SG_LIST(de_last),
                               SG_LIST(de_street), ST_NUM_LAST};

/* French */
static const char *const fr_first[] = {
    "Jean",   "Marie",  "Élodie", "François", "Chloé",   "Léa",
    "Hélène", "Théo",   "Céline", "Mathieu",  "Camille", "Louis",
    "Manon",  "Jérôme", "Inès",   "Antoine",  "Zoé",     "Noémie"};
static const char *const fr_last[] = {
    "Martin",   "Bernard", "Dubois",  "Thomas", "Robert",  "Richard",
    "Petit",    "Durand",  "Leroy",   "Moreau", "Lefèvre", "Girard",
    "Fontaine", "Mercier", "Lambert", "Bonnet", "Faure",   "Rousseau"};
static const char *const fr_street[] = {
    "rue de la Paix",         "avenue Victor Hugo",
    "boulevard Saint-Michel", "rue des Lilas",
    "place de la République", "rue du Château",
    "avenue Jean Jaurès",     "rue Pasteur",
    "chemin des Vignes",      "rue de l'Église"};
static const words_t loc_fr = {SG_LIST(fr_first), SG_LIST(fr_last),
                               SG_LIST(fr_street), ST_NUM_FIRST};

/* Dutch (and Flemish) */
static const char *const nl_first[] = {
    "Jan", "Sanne", "Daan",  "Lotte", "Bram",  "Femke", "Sem",
    "Eva", "Thijs", "Anouk", "Ruben", "Fleur", "Joost", "Maud"};
static const char *const nl_last[] = {
    "de Jong",  "Jansen",  "de Vries", "van den Berg", "Bakker",
    "Visser",   "Smit",    "Meijer",   "de Boer",      "Mulder",
    "Janssens", "Peeters", "Maes",     "van Dijk",     "Willems"};
static const char *const nl_street[] = {
    "Kerkstraat",   "Dorpsstraat",  "Molenweg",   "Stationsstraat",
    "Schoolstraat", "Julianalaan",  "Marktplein", "Beatrixlaan",
    "Nieuwstraat",  "Prinsengracht"};
static const words_t loc_nl = {SG_LIST(nl_first), SG_LIST(nl_last),
                               SG_LIST(nl_street), ST_NUM_LAST};

/* Spanish */
static const char *const es_first[] = {
    "Lucía", "Hugo",   "Martín", "Sofía", "José",  "María",  "Álvaro", "Iñigo",
    "Nuria", "Javier", "Carmen", "Pablo", "Elena", "Sergio", "Marta",  "Raúl"};
static const char *const es_last[] = {
    "García",   "Fernández", "González", "Rodríguez", "López",
    "Martínez", "Sánchez",   "Pérez",    "Gómez",     "Muñoz",
    "Jiménez",  "Ruiz",      "Navarro",  "Torres",    "Domínguez"};
static const char *const es_street[] = {
    "Calle Mayor",     "Avenida de la Constitución",
    "Calle del Sol",   "Paseo de Gracia",
    "Plaza de España", "Calle de Alcalá",
    "Calle Real",      "Avenida de Andalucía",
    "Calle Nueva"};
static const words_t loc_es = {SG_LIST(es_first), SG_LIST(es_last),
                               SG_LIST(es_street), ST_NUM_LAST_COMMA};

/* Italian */
static const char *const it_first[] = {
    "Giulia",  "Marco",  "Francesca", "Luca",    "Chiara", "Alessandro",
    "Sofia",   "Matteo", "Niccolò",   "Martina", "Andrea", "Federica",
    "Lorenzo", "Elisa",  "Davide",    "Giorgia"};
static const char *const it_last[] = {
    "Rossi",   "Russo",   "Ferrari", "Esposito", "Bianchi", "Romano",
    "Colombo", "Ricci",   "Marino",  "Greco",    "Bruno",   "Gallo",
    "Conti",   "De Luca", "Mancini", "Costa"};
static const char *const it_street[] = {
    "Via Roma",           "Via Garibaldi",    "Corso Vittorio Emanuele",
    "Via Dante",          "Piazza del Duomo", "Via Mazzini",
    "Via Giuseppe Verdi", "Via Cavour",       "Viale della Libertà"};
static const words_t loc_it = {SG_LIST(it_first), SG_LIST(it_last),
                               SG_LIST(it_street), ST_NUM_LAST};

/* Polish */
static const char *const pl_first[] = {
    "Anna",      "Piotr",     "Katarzyna", "Krzysztof", "Małgorzata",
    "Łukasz",    "Agnieszka", "Paweł",     "Zofia",     "Michał",
    "Magdalena", "Tomasz",    "Joanna",    "Wojciech"};
static const char *const pl_last[] = {
    "Nowak",     "Kowalski",    "Wiśniewski", "Wójcik",    "Kowalczyk",
    "Kamiński",  "Lewandowski", "Zieliński",  "Szymański", "Woźniak",
    "Dąbrowski", "Kozłowski",   "Jankowski",  "Mazur"};
static const char *const pl_street[] = {
    "ul. Marszałkowska", "ul. Długa",       "ul. Piękna",
    "ul. Polna",         "ul. Leśna",       "ul. Słoneczna",
    "ul. Krótka",        "ul. Mickiewicza", "ul. Ogrodowa"};
static const words_t loc_pl = {SG_LIST(pl_first), SG_LIST(pl_last),
                               SG_LIST(pl_street), ST_NUM_LAST};

/* Swedish */
static const char *const sv_first[] = {
    "Erik", "Anna", "Lars", "Karin",  "Björn", "Astrid", "Oskar",
    "Elin", "Nils", "Maja", "Linnéa", "Sven",  "Ebba",   "Axel"};
static const char *const sv_last[] = {
    "Andersson", "Johansson", "Karlsson",  "Nilsson",  "Eriksson",
    "Larsson",   "Olsson",    "Persson",   "Svensson", "Gustafsson",
    "Lindström", "Åberg",     "Lindqvist", "Bergström"};
static const char *const sv_street[] = {
    "Storgatan",     "Drottninggatan", "Kungsgatan", "Skolgatan",
    "Järnvägsgatan", "Ringvägen",      "Sjövägen",   "Ågatan"};
static const words_t loc_sv = {SG_LIST(sv_first), SG_LIST(sv_last),
                               SG_LIST(sv_street), ST_NUM_LAST};

/* Irish */
static const char *const ie_first[] = {"Seán",    "Aoife",   "Niamh", "Ciarán",
                                       "Siobhán", "Patrick", "Conor", "Róisín",
                                       "Liam",    "Saoirse", "Cian",  "Orla"};
static const char *const ie_last[] = {
    "Murphy", "Kelly", "O'Sullivan", "Walsh",   "Smith", "O'Brien",
    "Byrne",  "Ryan",  "O'Connor",   "O'Neill", "Doyle", "McCarthy"};
static const char *const ie_street[] = {
    "Main Street",  "Church Road",    "O'Connell Street", "Grafton Street",
    "Station Road", "Patrick Street", "Mill Lane",        "Harbour View"};
static const words_t loc_ie = {SG_LIST(ie_first), SG_LIST(ie_last),
                               SG_LIST(ie_street), ST_NUM_FIRST};

/* Portuguese */
static const char *const pt_first[] = {
    "João",   "Maria",   "Inês",    "Tomás",  "Beatriz", "Gonçalo",
    "Leonor", "Rodrigo", "Matilde", "Duarte", "Afonso",  "Carolina"};
static const char *const pt_last[] = {
    "Silva",     "Santos",  "Ferreira", "Pereira",   "Oliveira",  "Costa",
    "Rodrigues", "Martins", "Sousa",    "Fernandes", "Gonçalves", "Lopes"};
static const char *const pt_street[] = {
    "Rua Augusta",          "Avenida da Liberdade", "Rua das Flores",
    "Rua do Comércio",      "Travessa do Carmo",    "Largo do Chiado",
    "Rua de Santa Catarina"};
static const words_t loc_pt = {SG_LIST(pt_first), SG_LIST(pt_last),
                               SG_LIST(pt_street), ST_NUM_LAST_COMMA};

/* Danish */
static const char *const da_first[] = {"Mette", "Søren",    "Freja",  "Mads",
                                       "Ida",   "Rasmus",   "Line",   "Jens",
                                       "Sofie", "Frederik", "Astrid", "Emil"};
static const char *const da_last[] = {
    "Jensen",      "Nielsen", "Hansen",   "Pedersen",  "Andersen",
    "Christensen", "Larsen",  "Sørensen", "Rasmussen", "Jørgensen"};
static const char *const da_street[] = {
    "Vestergade", "Østergade",   "Nørregade", "Søndergade",
    "Algade",     "Strandvejen", "Skolevej",  "Kongensgade"};
static const words_t loc_da = {SG_LIST(da_first), SG_LIST(da_last),
                               SG_LIST(da_street), ST_NUM_LAST};

/* Finnish */
static const char *const fi_first[] = {"Mikko", "Aino",  "Juha",  "Eeva",
                                       "Väinö", "Sanna", "Jukka", "Päivi",
                                       "Ville", "Kaisa", "Otto",  "Helmi"};
static const char *const fi_last[] = {
    "Korhonen",   "Virtanen", "Mäkinen",   "Nieminen", "Mäkelä",
    "Hämäläinen", "Laine",    "Heikkinen", "Koskinen", "Järvinen"};
static const char *const fi_street[] = {
    "Mannerheimintie", "Hämeenkatu", "Aleksanterinkatu", "Kauppakatu",
    "Koulukatu",       "Rantatie",   "Puistokatu"};
static const words_t loc_fi = {SG_LIST(fi_first), SG_LIST(fi_last),
                               SG_LIST(fi_street), ST_NUM_LAST};

/* American (also used for Canada) */
static const char *const us_first[] = {
    "James", "Mary",   "Michael", "Jennifer",    "David",   "Linda",
    "Emily", "Daniel", "Jessica", "Christopher", "Ashley",  "Matthew",
    "Sarah", "Andrew", "Olivia",  "Ethan",       "Madison", "Tyler"};
static const char *const us_last[] = {
    "Smith",  "Johnson",  "Williams",  "Brown",    "Jones",     "Garcia",
    "Miller", "Davis",    "Rodriguez", "Martinez", "Hernandez", "Lopez",
    "Wilson", "Anderson", "Taylor",    "Thomas",   "Moore",     "Jackson"};
static const char *const us_street[] = {
    "Main St",  "Oak Ave", "Maple St",     "Washington Blvd",
    "Park Ave", "Elm St",  "Lake Dr",      "Sunset Blvd",
    "Cedar Ln", "Pine St", "Hillcrest Rd", "River Rd"};
static const words_t loc_us = {SG_LIST(us_first), SG_LIST(us_last),
                               SG_LIST(us_street), ST_NUM_FIRST};

/* British */
static const char *const gb_first[] = {"Oliver",  "Amelia", "Harry",  "Isla",
                                       "George",  "Ava",    "Jack",   "Emily",
                                       "Charlie", "Sophie", "Thomas", "Grace"};
static const char *const gb_last[] = {
    "Smith",   "Jones",  "Taylor", "Brown",   "Williams", "Wilson",
    "Johnson", "Davies", "Evans",  "Roberts", "Walker",   "Wright"};
static const char *const gb_street[] = {
    "High Street", "Station Road", "Church Lane", "Victoria Road",
    "Green Lane",  "Manor Road",   "Park Road",   "Queen's Road"};
static const words_t loc_gb = {SG_LIST(gb_first), SG_LIST(gb_last),
                               SG_LIST(gb_street), ST_NUM_FIRST};

/* Norwegian */
static const char *const no_first[] = {
    "Ole",   "Ingrid", "Lars",    "Kari",    "Magnus", "Nora",
    "Håkon", "Sigrid", "Øystein", "Solveig", "Eirik",  "Ingeborg"};
static const char *const no_last[] = {
    "Hansen", "Johansen",    "Olsen", "Larsen", "Andersen", "Pedersen",
    "Nilsen", "Kristiansen", "Berg",  "Haugen", "Bakken",   "Sæther"};
static const char *const no_street[] = {
    "Storgata",  "Kirkegata",   "Kongens gate", "Dronningens gate",
    "Skolegata", "Strandveien", "Bryggen"};
static const words_t loc_no = {SG_LIST(no_first), SG_LIST(no_last),
                               SG_LIST(no_street), ST_NUM_LAST};

/* Brazilian */
static const char *const br_first[] = {
    "Gabriel", "Ana",    "Lucas",  "Juliana", "Mateus", "Fernanda",
    "Rafael",  "Camila", "Thiago", "Larissa", "Luíza",  "Vinícius"};
static const char *const br_last[] = {
    "Silva", "Santos",  "Oliveira", "Souza", "Rodrigues", "Ferreira",
    "Alves", "Pereira", "Lima",     "Gomes", "Ribeiro",   "Carvalho"};
static const char *const br_street[] = {
    "Rua das Laranjeiras", "Avenida Paulista",   "Rua Oscar Freire",
    "Avenida Atlântica",   "Rua XV de Novembro", "Rua da Consolação"};
static const words_t loc_br = {SG_LIST(br_first), SG_LIST(br_last),
                               SG_LIST(br_street), ST_NUM_LAST_COMMA};

/* Japanese (romanised) */
static const char *const jp_first[] = {"Haruto", "Yui", "Sota",  "Hina",
                                       "Yuto",   "Aoi", "Ren",   "Sakura",
                                       "Takumi", "Mei", "Kenji", "Yuki"};
static const char *const jp_last[] = {
    "Sato",     "Suzuki",   "Takahashi", "Tanaka", "Watanabe", "Ito",
    "Yamamoto", "Nakamura", "Kobayashi", "Kato",   "Yoshida",  "Yamada"};
static const char *const jp_street[] = {
    "Jingumae", "Ginza", "Shibuya", "Umeda", "Sakae", "Nishiki", "Tenjin"};
static const words_t loc_jp = {SG_LIST(jp_first), SG_LIST(jp_last),
                               SG_LIST(jp_street), ST_CHOME};

/* Australian */
static const char *const au_first[] = {
    "Jack",    "Charlotte", "William", "Olivia", "Noah",   "Mia",
    "Lachlan", "Chloe",     "Cooper",  "Isla",   "Harper", "Oscar"};
static const char *const au_last[] = {"Smith",  "Jones",  "Williams", "Brown",
                                      "Wilson", "Taylor", "Nguyen",   "Johnson",
                                      "Martin", "White",  "Anderson", "Walker"};
static const char *const au_street[] = {
    "George St",       "Pitt St", "Collins St", "Queen St",
    "King William St", "Hay St",  "Bourke St"};
static const words_t loc_au = {SG_LIST(au_first), SG_LIST(au_last),
                               SG_LIST(au_street), ST_NUM_FIRST};

/* Cities */
static const char *const c_de[] = {
    "Berlin",    "München",    "Hamburg", "Köln",    "Frankfurt am Main",
    "Stuttgart", "Düsseldorf", "Leipzig", "Dresden", "Nürnberg"};
static const char *const c_fr[] = {
    "Paris",  "Marseille",  "Lyon",        "Toulouse", "Nice",
    "Nantes", "Strasbourg", "Montpellier", "Bordeaux", "Lille"};
static const char *const c_nl[] = {"Amsterdam", "Rotterdam", "Den Haag",
                                   "Utrecht",   "Eindhoven", "Groningen",
                                   "Tilburg"};
static const char *const c_es[] = {"Madrid",  "Barcelona", "Valencia",
                                   "Sevilla", "Zaragoza",  "Málaga",
                                   "Bilbao"};
static const char *const c_it[] = {"Roma",    "Milano",  "Napoli",  "Torino",
                                   "Palermo", "Bologna", "Firenze", "Genova"};
static const char *const c_pl[] = {"Warszawa", "Kraków", "Łódź",    "Wrocław",
                                   "Poznań",   "Gdańsk", "Szczecin"};
static const char *const c_se[] = {"Stockholm", "Göteborg", "Malmö",
                                   "Uppsala",   "Västerås", "Örebro",
                                   "Linköping"};
static const char *const c_at[] = {"Wien",     "Graz",      "Linz",
                                   "Salzburg", "Innsbruck", "Klagenfurt"};
static const char *const c_be[] = {"Bruxelles", "Antwerpen", "Gent",  "Liège",
                                   "Brugge",    "Namur",     "Leuven"};
static const char *const c_ie[] = {"Dublin",   "Cork",      "Galway",
                                   "Limerick", "Waterford", "Kilkenny"};
static const char *const c_pt[] = {"Lisboa", "Porto",  "Braga",  "Coimbra",
                                   "Faro",   "Aveiro", "Funchal"};
static const char *const c_dk[] = {"København", "Aarhus",  "Odense",
                                   "Aalborg",   "Esbjerg", "Roskilde"};
static const char *const c_fi[] = {"Helsinki", "Espoo", "Tampere",  "Vantaa",
                                   "Oulu",     "Turku", "Jyväskylä"};
static const char *const c_usca[] = {
    "Los Angeles", "San Francisco", "San Diego", "San Jose",
    "Sacramento",  "Oakland",       "Fresno"};
static const char *const c_usny[] = {"New York", "Buffalo",  "Rochester",
                                     "Albany",   "Syracuse", "Yonkers"};
static const char *const c_ustx[] = {"Houston",     "Austin",  "Dallas",
                                     "San Antonio", "El Paso", "Fort Worth"};
static const char *const c_gb[] = {"London",  "Manchester", "Birmingham",
                                   "Leeds",   "Glasgow",    "Edinburgh",
                                   "Bristol", "Liverpool"};
static const char *const c_ch[] = {"Zürich", "Genève",   "Basel",
                                   "Bern",   "Lausanne", "Luzern"};
static const char *const c_no[] = {"Oslo",      "Bergen", "Trondheim",
                                   "Stavanger", "Tromsø", "Drammen"};
static const char *const c_ca[] = {"Toronto", "Montréal", "Vancouver",
                                   "Calgary", "Ottawa",   "Edmonton",
                                   "Québec"};
static const char *const c_br[] = {
    "São Paulo", "Rio de Janeiro", "Belo Horizonte", "Brasília",
    "Salvador",  "Curitiba",       "Porto Alegre"};
static const char *const c_jp[] = {"Tokyo",   "Osaka",   "Yokohama", "Nagoya",
                                   "Sapporo", "Fukuoka", "Kyoto"};
static const char *const c_au[] = {"Sydney",   "Melbourne", "Brisbane", "Perth",
                                   "Adelaide", "Canberra",  "Hobart"};

/* ~60% EU, ~20% US (California first), ~20% elsewhere. */
static const country_t sg_countries[] = {
    {"DE", 120, &loc_de, NULL, 0, SG_LIST(c_de), "#####"},
    {"FR", 100, &loc_fr, NULL, 0, SG_LIST(c_fr), "#####"},
    {"NL", 50, &loc_nl, NULL, 0, SG_LIST(c_nl), "#### @@"},
    {"ES", 70, &loc_es, NULL, 0, SG_LIST(c_es), "#####"},
    {"IT", 70, &loc_it, NULL, 0, SG_LIST(c_it), "#####"},
    {"PL", 50, &loc_pl, NULL, 0, SG_LIST(c_pl), "##-###"},
    {"SE", 30, &loc_sv, NULL, 0, SG_LIST(c_se), "### ##"},
    {"AT", 20, &loc_de, NULL, 0, SG_LIST(c_at), "####"},
    {"BE", 30, &loc_nl, &loc_fr, 40, SG_LIST(c_be), "####"},
    {"IE", 20, &loc_ie, NULL, 0, SG_LIST(c_ie), "@## @#@#"},
    {"PT", 20, &loc_pt, NULL, 0, SG_LIST(c_pt), "####-###"},
    {"DK", 10, &loc_da, NULL, 0, SG_LIST(c_dk), "####"},
    {"FI", 10, &loc_fi, NULL, 0, SG_LIST(c_fi), "#####"},
    {"US-CA", 90, &loc_us, NULL, 0, SG_LIST(c_usca), "9####"},
    {"US-NY", 60, &loc_us, NULL, 0, SG_LIST(c_usny), "1####"},
    {"US-TX", 50, &loc_us, NULL, 0, SG_LIST(c_ustx), "7####"},
    {"GB", 50, &loc_gb, NULL, 0, SG_LIST(c_gb), "@@# #@@"},
    {"CH", 20, &loc_de, &loc_fr, 30, SG_LIST(c_ch), "####"},
    {"NO", 15, &loc_no, NULL, 0, SG_LIST(c_no), "####"},
    {"CA", 30, &loc_us, &loc_fr, 20, SG_LIST(c_ca), "@#@ #@#"},
    {"BR", 30, &loc_br, NULL, 0, SG_LIST(c_br), "#####-###"},
    {"JP", 25, &loc_jp, NULL, 0, SG_LIST(c_jp), "###-####"},
    {"AU", 30, &loc_au, NULL, 0, SG_LIST(c_au), "####"},
};

#define SG_NCOUNTRIES (sizeof(sg_countries) / sizeof(sg_countries[0]))

/* Every locale, for e-mail-like strings that need no country. */
static const words_t *const sg_locales[] = {
    &loc_de, &loc_fr, &loc_nl, &loc_es, &loc_it, &loc_pl,
    &loc_sv, &loc_ie, &loc_pt, &loc_da, &loc_fi, &loc_us,
    &loc_gb, &loc_no, &loc_br, &loc_jp, &loc_au};

static const char *const sg_domains[] = {"example.com", "example.net",
                                         "example.org"};

/* 2023-01-01 as days since the epoch, and the 3 years up to 2026-01-01. */
#define SG_SIGNUP_FIRST_DAY 19358
#define SG_SIGNUP_DAYS 1096

size_t sg_seed_country_count(void)
{
        return SG_NCOUNTRIES;
}

const char *sg_seed_country_code(size_t i)
{
        return i < SG_NCOUNTRIES ? sg_countries[i].code : NULL;
}

static const char *pick(sg_rand_t *r, const char *const *list, size_t n)
{
        return list[sg_rand_below(r, n)];
}

/* ASCII spelling of the Latin-1 letters U+00C0..U+00FF, by the low five
 * bits (upper and lower case share a row); U+00D7/U+00F7 are signs. */
static const char *const sg_latin1[32] = {
    "a",  "a", "a", "a", "ae", "a", "ae", "c", "e",  "e", "e",
    "e",  "i", "i", "i", "i",  "d", "n",  "o", "o",  "o", "o",
    "oe", "",  "o", "u", "u",  "u", "ue", "y", "th", "ss"};

static const char *sg_translit(unsigned cp)
{
        if (cp >= 0xC0 && cp <= 0xFF) {
                if (cp == 0xFF)
                        return "y";
                return sg_latin1[cp & 0x1F];
        }
        switch (cp) {
        case 0x104:
        case 0x105:
                return "a"; /* Ą ą */
        case 0x106:
        case 0x107:
                return "c"; /* Ć ć */
        case 0x118:
        case 0x119:
                return "e"; /* Ę ę */
        case 0x141:
        case 0x142:
                return "l"; /* Ł ł */
        case 0x143:
        case 0x144:
                return "n"; /* Ń ń */
        case 0x15A:
        case 0x15B:
                return "s"; /* Ś ś */
        case 0x179:
        case 0x17A:
                return "z"; /* Ź ź */
        case 0x17B:
        case 0x17C:
                return "z"; /* Ż ż */
        default:
                return "";
        }
}

size_t sg_seed_words_ascii(const char *in, char *out, size_t size)
{
        const unsigned char *p = (const unsigned char *)in;
        size_t n = 0;

        if (size == 0)
                return 0;
        while (*p) {
                const char *rep;
                char one[2] = {0, 0};

                if (*p < 0x80) {
                        unsigned char c = *p++;
                        if (c >= 'A' && c <= 'Z')
                                c = (unsigned char)(c - 'A' + 'a');
                        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
                                continue;
                        one[0] = (char)c;
                        rep = one;
                } else if ((*p & 0xE0) == 0xC0 && (p[1] & 0xC0) == 0x80) {
                        rep = sg_translit(((unsigned)(p[0] & 0x1F) << 6) |
                                          (p[1] & 0x3F));
                        p += 2;
                } else {
                        /* Longer sequences (or stray bytes): no mapping. */
                        p++;
                        while ((*p & 0xC0) == 0x80)
                                p++;
                        continue;
                }
                for (; *rep && n + 1 < size; rep++)
                        out[n++] = *rep;
        }
        out[n] = '\0';
        return n;
}

/* Writes a postal code from a pattern: '#' digit, '@' upper-case letter,
 * anything else as is. */
static void postal_code(sg_rand_t *r, const char *pattern, char *out,
                        size_t size)
{
        size_t n = 0;

        for (; *pattern && n + 1 < size; pattern++) {
                if (*pattern == '#')
                        out[n++] = (char)('0' + sg_rand_below(r, 10));
                else if (*pattern == '@')
                        out[n++] = (char)('A' + sg_rand_below(r, 26));
                else
                        out[n++] = *pattern;
        }
        out[n] = '\0';
}

static void street_address(sg_rand_t *r, const words_t *loc, char *out,
                           size_t size)
{
        const char *street = pick(r, loc->street, loc->nstreet);
        /* House numbers: mostly small. */
        unsigned num =
            1 + (unsigned)(sg_rand_double(r) * sg_rand_double(r) * 250.0);

        switch (loc->fmt) {
        case ST_NUM_FIRST:
                snprintf(out, size, "%u %s", num, street);
                break;
        case ST_NUM_LAST:
                snprintf(out, size, "%s %u", street, num);
                break;
        case ST_NUM_LAST_COMMA:
                snprintf(out, size, "%s, %u", street, num);
                break;
        case ST_CHOME:
                snprintf(
                    out, size, "%u-%u-%u %s", 1 + (unsigned)sg_rand_below(r, 9),
                    1 + (unsigned)sg_rand_below(r, 30), num % 40 + 1, street);
                break;
        }
}

/* "first.last" in lower-case ASCII; falls back to "user" when a name has
 * no letters left after transliteration. */
static size_t email_local(const char *first, const char *last, char *out,
                          size_t size)
{
        char a[64], b[64];

        sg_seed_words_ascii(first, a, sizeof(a));
        sg_seed_words_ascii(last, b, sizeof(b));
        return (size_t)snprintf(out, size, "%s.%s", *a ? a : "user",
                                *b ? b : "user");
}

void sg_seed_user_make(uint64_t seed, uint64_t index, sg_seed_user_t *u)
{
        const country_t *c = &sg_countries[0];
        const words_t *loc;
        sg_rand_t r;
        unsigned w;
        char local[128];

        memset(u, 0, sizeof(*u));
        sg_rand_init(&r, seed, index);
        sg_rand_uuid(&r, u->user_id);

        w = (unsigned)sg_rand_below(&r, 1000);
        for (size_t i = 0; i < SG_NCOUNTRIES; i++) {
                if (w < sg_countries[i].weight) {
                        c = &sg_countries[i];
                        break;
                }
                w -= sg_countries[i].weight;
        }
        loc = c->loc;
        if (c->loc2 && sg_rand_below(&r, 100) < c->loc2_pct)
                loc = c->loc2;

        snprintf(u->country, sizeof(u->country), "%s", c->code);
        snprintf(u->first_name, sizeof(u->first_name), "%s",
                 pick(&r, loc->first, loc->nfirst));
        snprintf(u->last_name, sizeof(u->last_name), "%s",
                 pick(&r, loc->last, loc->nlast));
        street_address(&r, loc, u->street_address, sizeof(u->street_address));
        snprintf(u->city, sizeof(u->city), "%s",
                 pick(&r, c->cities, c->ncities));
        postal_code(&r, c->postal, u->postal_code, sizeof(u->postal_code));

        /* The index makes the address unique whatever the names. */
        email_local(u->first_name, u->last_name, local, sizeof(local));
        snprintf(u->email, sizeof(u->email), "%.80s.%llu@%s", local,
                 (unsigned long long)index, sg_domains[sg_rand_below(&r, 3)]);

        sg_time_format_day(SG_SIGNUP_FIRST_DAY +
                                (long long)sg_rand_below(&r, SG_SIGNUP_DAYS),
                            u->signup_date);
}

size_t sg_seed_words_email(sg_rand_t *r, char *out, size_t size)
{
        const size_t nloc = sizeof(sg_locales) / sizeof(sg_locales[0]);
        const words_t *loc = sg_locales[sg_rand_below(r, nloc)];
        const char *first = pick(r, loc->first, loc->nfirst);
        const char *last = pick(r, loc->last, loc->nlast);
        char local[128];
        int n;

        if (size == 0)
                return 0;
        email_local(first, last, local, sizeof(local));
        n = snprintf(out, size, "%s@%s", local,
                     sg_domains[sg_rand_below(r, 3)]);
        if (n < 0) {
                out[0] = '\0';
                return 0;
        }
        return (size_t)n < size ? (size_t)n : size - 1;
}
