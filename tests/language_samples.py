"""A small labelled set of medical text for the document-language check: English and Italian
reports dense with Latin, drug names, codes and abbreviations (which must never be flagged),
and letters in languages the office does not accept (which must be)."""

from __future__ import annotations

ENGLISH = [
    """HISTOPATHOLOGY REPORT. Specimen: left breast, core needle biopsy at 2 o'clock. Macroscopy: three
cores of grey-white tissue, 12, 14 and 9 mm. Microscopy: invasive carcinoma of no special type (ductal NOS),
Nottingham grade 2 (tubules 3, pleomorphism 2, mitoses 1). No lymphovascular invasion identified. Associated
ductal carcinoma in situ, cribriform pattern, intermediate nuclear grade. Immunohistochemistry: ER positive
(Allred 8/8), PgR positive (Allred 6/8), HER2 score 1+ (negative), Ki-67 22%. Conclusion: invasive breast
carcinoma NST, G2, luminal B-like (HER2 negative). pT not assessable on biopsy. Reported by Dr A. Hughes, FRCPath.""",
    """DISCHARGE SUMMARY. Diagnosis: adenocarcinoma of the sigmoid colon, pT3 pN1b (2/17) M0, stage IIIB,
KRAS G12D mutated, NRAS and BRAF V600E wild type, microsatellite stable (pMMR). Procedure: laparoscopic sigmoid
colectomy with primary anastomosis on 3 March. Post-operative course uneventful; enoxaparin 40 mg s.c. once
daily for 28 days, paracetamol 1 g q.i.d. p.r.n. Plan: adjuvant chemotherapy with CAPOX (capecitabine 1000 mg/m2
b.i.d. days 1-14 plus oxaliplatin 130 mg/m2 day 1, q21d) for 3 months. CEA pre-operative 7.4 ng/mL. Follow-up
CT thorax, abdomen and pelvis in six months. Discussed at the colorectal multidisciplinary team meeting.""",
    """CT CHEST ABDOMEN PELVIS WITH CONTRAST. Clinical details: restaging after four cycles of carboplatin,
pemetrexed and pembrolizumab for stage IV lung adenocarcinoma. Findings: the spiculated mass in the right upper
lobe measures 24 x 19 mm (previously 38 x 30 mm). Mediastinal lymph nodes in station 4R reduced to 8 mm short axis.
No pleural effusion. The liver, spleen, pancreas and adrenal glands are unremarkable. No new osseous lesions.
Impression: partial response according to RECIST 1.1. No evidence of pneumonitis. Recommend continuation of
maintenance therapy and repeat imaging in nine weeks.""",
    """CLINIC LETTER. Dear Dr Patel, I reviewed Mrs Jones today in the oncology clinic. She has a
diffuse large B-cell lymphoma, germinal centre type, stage IIA, with bulky mediastinal disease. PET-CT showed
Deauville score 2 after cycle four of R-CHOP (rituximab, cyclophosphamide, doxorubicin hydrochloride, vincristine,
prednisolone). She tolerated treatment well apart from grade 1 peripheral neuropathy and mild mucositis. Current
medication: allopurinol 300 mg o.d., co-trimoxazole 480 mg b.d. on Mondays, Wednesdays and Fridays, aciclovir
400 mg b.d., omeprazole 20 mg o.d. We will complete six cycles and then consider consolidation radiotherapy.
Yours sincerely, Dr R. Clarke, Consultant Haematologist.""",
    """MRI PROSTATE (multiparametric, 3 Tesla). Indication: PSA 8.9 ng/mL, rising, previous negative
biopsy. Findings: prostate volume 46 mL, PSA density 0.19. In the left peripheral zone at the mid gland there is a
13 mm lesion with marked restriction of diffusion (ADC 650) and early enhancement, PI-RADS v2.1 score 5, abutting
the capsule without definite extraprostatic extension. Seminal vesicles are preserved. No pelvic lymphadenopathy.
Conclusion: PI-RADS 5 lesion, left peripheral zone. Targeted and systematic transperineal biopsy is recommended.
Differential includes prostatitis, although the appearances favour clinically significant carcinoma.""",
    """OPERATION NOTE. Procedure: robotic-assisted right hemicolectomy, D3 lymphadenectomy. Indication:
adenocarcinoma of the caecum, cT3 N0 M0. Findings: tumour in the caecum with no serosal breach, no peritoneal
deposits, liver macroscopically normal. Ileocolic pedicle ligated at its origin from the superior mesenteric
vessels. Stapled side-to-side isoperistaltic ileocolic anastomosis, extracorporeal. Estimated blood loss 50 mL.
Antibiotic prophylaxis: cefuroxime 1.5 g and metronidazole 500 mg i.v. at induction. Thromboprophylaxis with
dalteparin 5000 units s.c. Post-operative instructions: enhanced recovery pathway, free fluids tonight, mobilise
on day one, analgesia with oxycodone p.r.n. and regular paracetamol.""",
    """PATHOLOGY. Thyroid, total thyroidectomy. Papillary thyroid carcinoma, classic variant, 17 mm,
in the right lobe, unifocal. Extrathyroidal extension: absent (minimal extension not identified). Margins clear,
closest 1 mm posterior. Lymphovascular invasion: not identified. Central compartment lymph nodes: 1 of 6 involved
(micrometastasis 1.5 mm, no extranodal extension). BRAF V600E mutation detected. Background thyroid shows lymphocytic
thyroiditis (Hashimoto type). pTNM (AJCC 8th edition): pT1b pN1a. Recommend discussion regarding radioactive iodine
and levothyroxine suppression; thyroglobulin and anti-thyroglobulin antibodies at six weeks.""",
    """ECHOCARDIOGRAM REPORT. Indication: baseline before trastuzumab and pertuzumab (cardio-oncology
surveillance). Left ventricle normal in size with normal wall thickness. Left ventricular ejection fraction 61%
by Simpson's biplane method, global longitudinal strain -20.5%. Diastolic function normal (E/e' 7). Right
ventricle normal size and function, TAPSE 22 mm. Valves: trivial mitral and tricuspid regurgitation, no stenosis.
No pericardial effusion. Inferior vena cava normal with normal respiratory variation. Conclusion: normal study;
repeat echocardiogram every three months during anti-HER2 therapy, or sooner if symptoms of heart failure develop.""",
]

ITALIAN = [
    """REFERTO ISTOLOGICO. Materiale: mammella sinistra, biopsia con ago tranciante (core biopsy) ore 2.
Descrizione macroscopica: tre frustoli di tessuto biancastro di 12, 14 e 9 mm. Diagnosi: carcinoma infiltrante
di tipo non speciale (duttale NOS), grado istologico 2 sec. Nottingham. Non evidenza di invasione linfovascolare.
Associato carcinoma duttale in situ, pattern cribriforme, grado nucleare intermedio. Immunoistochimica: ER 95%,
PgR 40%, HER2 score 1+ (negativo), Ki-67 22%. Conclusioni: carcinoma mammario infiltrante NST, G2, luminale B-like
HER2 negativo. Si consiglia discussione multidisciplinare. Il medico refertante: dott.ssa A. Bianchi.""",
    """LETTERA DI DIMISSIONE. Diagnosi: adenocarcinoma del sigma, pT3 pN1b (2/17) M0, stadio IIIB, KRAS G12D
mutato, NRAS e BRAF V600E wild type, stabilità dei microsatelliti (pMMR). Intervento: sigmoidectomia laparoscopica
con anastomosi colo-rettale il 3 marzo. Decorso post-operatorio regolare; enoxaparina 4000 UI s.c. una volta al
giorno per 28 giorni, paracetamolo 1 g al bisogno. Indicazioni: chemioterapia adiuvante secondo schema CAPOX
(capecitabina 1000 mg/m2 due volte al giorno gg 1-14 e oxaliplatino 130 mg/m2 g 1, ogni 21 giorni) per tre mesi.
CEA pre-operatorio 7,4 ng/mL. Controllo TC torace-addome-pelvi tra sei mesi. Caso discusso in riunione multidisciplinare.""",
    """TC TORACE ADDOME PELVI CON MEZZO DI CONTRASTO. Quesito clinico: rivalutazione dopo quattro cicli di
carboplatino, pemetrexed e pembrolizumab per adenocarcinoma polmonare stadio IV. Reperti: la lesione spiculata del
lobo superiore destro misura 24 x 19 mm (in precedenza 38 x 30 mm). Linfonodi mediastinici in stazione 4R ridotti a
8 mm in asse corto. Non versamento pleurico. Fegato, milza, pancreas e surreni nella norma. Non nuove lesioni ossee.
Conclusioni: risposta parziale secondo criteri RECIST 1.1. Non segni di polmonite da immunoterapia. Si consiglia di
proseguire la terapia di mantenimento e di ripetere l'esame tra nove settimane.""",
    """Gentile Collega, ho visitato oggi in ambulatorio la Sig.ra Rossi, affetta da linfoma diffuso a grandi
cellule B, sottotipo germinal center, stadio IIA, con malattia bulky mediastinica. La PET-TC dopo il quarto ciclo di
R-CHOP (rituximab, ciclofosfamide, doxorubicina, vincristina, prednisone) mostra Deauville score 2. Ha tollerato bene
il trattamento salvo neuropatia periferica di grado 1 e lieve mucosite. Terapia domiciliare: allopurinolo 300 mg,
cotrimossazolo 800/160 mg lunedì, mercoledì e venerdì, aciclovir 400 mg due volte al giorno, omeprazolo 20 mg.
Completeremo sei cicli e valuteremo poi una radioterapia di consolidamento. Cordiali saluti, dott. R. Conti, ematologo.""",
    """RISONANZA MAGNETICA MULTIPARAMETRICA DELLA PROSTATA (3 Tesla). Indicazione: PSA 8,9 ng/mL in aumento,
precedente biopsia negativa. Reperti: volume prostatico 46 mL, PSA density 0,19. Nella zona periferica sinistra,
terzo medio, si apprezza lesione di 13 mm con marcata restrizione della diffusione (ADC 650) e impregnazione precoce,
punteggio PI-RADS v2.1 pari a 5, a contatto con la capsula senza chiari segni di estensione extraprostatica. Vescicole
seminali indenni. Non linfoadenomegalie pelviche. Conclusioni: lesione PI-RADS 5 della zona periferica sinistra.
Si raccomanda biopsia transperineale mirata e sistematica.""",
    """VERBALE OPERATORIO. Intervento: emicolectomia destra robotica con linfoadenectomia D3. Indicazione:
adenocarcinoma del cieco, cT3 N0 M0. Reperto: neoplasia del cieco senza infiltrazione della sierosa, non depositi
peritoneali, fegato macroscopicamente indenne. Legatura del peduncolo ileocolico all'origine dai vasi mesenterici
superiori. Anastomosi ileocolica latero-laterale isoperistaltica meccanica, extracorporea. Perdite ematiche stimate
50 mL. Profilassi antibiotica: cefuroxima 1,5 g e metronidazolo 500 mg e.v. all'induzione. Profilassi
tromboembolica con dalteparina 5000 UI s.c. Indicazioni post-operatorie: protocollo ERAS, liquidi dalla sera,
mobilizzazione in prima giornata, analgesia con ossicodone al bisogno e paracetamolo a orari fissi.""",
    """ESAME ISTOLOGICO. Tiroide, tiroidectomia totale. Carcinoma papillare della tiroide, variante classica,
di 17 mm, nel lobo destro, unifocale. Estensione extratiroidea: assente. Margini indenni, il più vicino a 1 mm
posteriormente. Invasione linfovascolare: non riscontrata. Linfonodi del compartimento centrale: 1 su 6 metastatico
(micrometastasi di 1,5 mm, senza estensione extranodale). Mutazione BRAF V600E presente. Il parenchima tiroideo
circostante mostra tiroidite linfocitaria (tipo Hashimoto). pTNM (AJCC VIII ed.): pT1b pN1a. Si consiglia
valutazione per terapia radiometabolica e terapia soppressiva con levotiroxina; tireoglobulina a sei settimane.""",
    """ECOCARDIOGRAMMA COLOR-DOPPLER. Indicazione: valutazione basale prima di trastuzumab e pertuzumab
(sorveglianza cardio-oncologica). Ventricolo sinistro di normali dimensioni e spessori parietali. Frazione di
eiezione del ventricolo sinistro 61% (metodo Simpson biplano), strain longitudinale globale -20,5%. Funzione
diastolica nella norma (E/e' 7). Ventricolo destro di normali dimensioni e funzione, TAPSE 22 mm. Valvole:
insufficienza mitralica e tricuspidale minima, non stenosi. Non versamento pericardico. Vena cava inferiore di
calibro normale con normale collassabilità. Conclusioni: esame nella norma; ripetere ogni tre mesi durante la
terapia anti-HER2 o prima in caso di sintomi di scompenso.""",
]

# letters the office cannot accept without an official translation: (language, text)
FOREIGN = [
    ("de", """ARZTBRIEF. Sehr geehrte Frau Kollegin, wir berichten über Ihre Patientin, die sich vom 3. bis 10. März
in unserer stationären Behandlung befand. Diagnose: invasives Mammakarzinom links, NST, G2, ER positiv, PR positiv,
HER2 negativ, Ki-67 22 Prozent. Therapie: brusterhaltende Operation mit Sentinel-Lymphknotenbiopsie am 4. März.
Der postoperative Verlauf gestaltete sich komplikationslos. Wir empfehlen eine adjuvante Strahlentherapie sowie eine
endokrine Therapie mit Letrozol 2,5 mg einmal täglich. Eine Vorstellung in unserer Tumorkonferenz ist erfolgt.
Mit freundlichen kollegialen Grüßen, Dr. med. K. Schneider, Oberärztin der Frauenklinik."""),
    ("fr", """COMPTE RENDU D'HOSPITALISATION. Madame, nous avons pris en charge votre patiente du 3 au 10 mars pour un
adénocarcinome du côlon sigmoïde, pT3 pN1b M0, stade IIIB, avec mutation KRAS G12D et statut MSS. Elle a bénéficié
d'une sigmoïdectomie par cœlioscopie avec anastomose colorectale. Les suites opératoires ont été simples. Nous
proposons une chimiothérapie adjuvante par CAPOX pendant trois mois, après discussion en réunion de concertation
pluridisciplinaire. Un scanner thoraco-abdomino-pelvien de contrôle sera réalisé dans six mois. Nous restons à votre
disposition. Veuillez agréer, chère consœur, l'expression de nos sentiments confraternels. Dr P. Martin."""),
    ("es", """INFORME DE ALTA. Paciente de 58 años que ingresa para tratamiento quirúrgico de un adenocarcinoma de pulmón
en el lóbulo superior derecho, estadio IIB. Se realizó lobectomía superior derecha por videotoracoscopia con
linfadenectomía mediastínica sistemática. El postoperatorio transcurrió sin complicaciones y el drenaje torácico se
retiró al tercer día. La anatomía patológica confirma adenocarcinoma de patrón acinar, márgenes libres, con afectación
de un ganglio hiliar. Se recomienda valoración por oncología médica para quimioterapia adyuvante y seguimiento con
tomografía computarizada. Tratamiento al alta: paracetamol cada ocho horas si precisa y heparina durante un mes."""),
    ("pt", """RELATÓRIO MÉDICO. Doente do sexo masculino, de 64 anos, com diagnóstico de adenocarcinoma da próstata,
Gleason 4+3, ISUP grau 3, PSA inicial de 8,9 ng/mL. A ressonância magnética multiparamétrica mostrou lesão da zona
periférica esquerda com classificação PI-RADS 5, sem sinais de extensão extraprostática. A cintigrafia óssea não
revelou lesões secundárias. O caso foi discutido em consulta de grupo multidisciplinar, tendo sido proposta
prostatectomia radical assistida por robô ou, em alternativa, radioterapia externa associada a hormonoterapia de
curta duração. O doente pretende obter uma segunda opinião antes de decidir. Com os melhores cumprimentos."""),
    ("nl", """ONTSLAGBRIEF. Geachte collega, uw patiënte werd van 3 tot en met 10 maart opgenomen op onze afdeling
chirurgie in verband met een mammacarcinoom links. Er werd een borstsparende operatie met schildwachtklierprocedure
verricht. Het pathologisch onderzoek toonde een invasief carcinoom zonder speciaal type, graad twee, oestrogeenreceptor
positief, HER2 negatief, met vrije snijvlakken en een negatieve schildwachtklier. Het postoperatieve beloop was
ongecompliceerd. In het multidisciplinair overleg werd besloten tot adjuvante radiotherapie en hormonale therapie
met letrozol. Wij zien haar over zes weken terug op de polikliniek. Met vriendelijke groet, dr. J. de Vries."""),
    ("de", """BEFUNDBERICHT COMPUTERTOMOGRAPHIE. Fragestellung: Verlaufskontrolle nach vier Zyklen Chemotherapie bei
Lungenkarzinom. Befund: Der spikulierte Rundherd im rechten Oberlappen misst aktuell 24 x 19 mm, in der Voruntersuchung
noch 38 x 30 mm. Die mediastinalen Lymphknoten sind größenregredient. Kein Pleuraerguss. Leber, Milz, Pankreas und
Nebennieren ohne pathologischen Befund. Keine neu aufgetretenen ossären Läsionen. Beurteilung: partielles Ansprechen
nach RECIST 1.1. Kein Anhalt für eine Pneumonitis. Empfehlung: Fortführung der Erhaltungstherapie und erneute
Bildgebung in neun Wochen."""),
]
