package demo

// The vocabularies the synthetic records are drawn from. Everything here is
// invented or generic: names are common given names and surnames of many
// origins (so that name search, sorting and collation meet some variety),
// specialties, report titles and drugs are ordinary clinical vocabulary.
// ASCII only: e-mail addresses are built from the names, and a plain
// lower-case local part keeps them valid without any transliteration.

var firstNamesFemale = []string{
	"Olivia", "Emma", "Amelia", "Sophia", "Isabella", "Mia", "Charlotte", "Ava",
	"Harper", "Evelyn", "Abigail", "Emily", "Elizabeth", "Sofia", "Ella", "Grace",
	"Chloe", "Victoria", "Hannah", "Zoe", "Nora", "Lily", "Eleanor", "Hazel",
	"Aurora", "Penelope", "Layla", "Riley", "Scarlett", "Madison", "Maria", "Ana",
	"Lucia", "Carmen", "Paula", "Elena", "Isabel", "Marta", "Ines", "Beatriz",
	"Camila", "Valentina", "Ximena", "Guadalupe", "Fernanda", "Daniela", "Gabriela", "Renata",
	"Anna", "Katarzyna", "Agnieszka", "Magdalena", "Zofia", "Alicja", "Olga", "Irina",
	"Natalia", "Tatiana", "Svetlana", "Yulia", "Oksana", "Daria", "Ingrid", "Astrid",
	"Freya", "Sigrid", "Liv", "Annika", "Greta", "Heidi", "Lena", "Klara",
	"Mei", "Yan", "Xiu", "Li", "Hui", "Jing", "Yuki", "Haruka",
	"Sakura", "Aiko", "Hana", "Min-ji", "Seo-yeon", "Ji-woo", "Priya", "Ananya",
	"Aisha", "Fatima", "Zainab", "Mariam", "Leila", "Yasmin", "Noor", "Amira",
	"Chiamaka", "Ngozi", "Amara", "Adaeze", "Folake", "Wanjiru", "Nia", "Zawadi",
	"Siobhan", "Aoife", "Niamh", "Saoirse", "Bronwen", "Eilidh", "Morag", "Catriona",
	"Giulia", "Francesca", "Chiara", "Alessia", "Sophie", "Camille", "Manon", "Juliette",
	"Thi", "Linh", "Mai", "Ngoc", "Kalani", "Leilani", "Tala", "Ayelet",
}

var firstNamesMale = []string{
	"Liam", "Noah", "Oliver", "James", "Elijah", "William", "Henry", "Lucas",
	"Benjamin", "Theodore", "Jack", "Samuel", "Daniel", "Michael", "David", "Joseph",
	"Thomas", "Charles", "Christopher", "Andrew", "George", "Edward", "Arthur", "Frederick",
	"Jose", "Juan", "Luis", "Carlos", "Miguel", "Javier", "Diego", "Alejandro",
	"Mateo", "Santiago", "Sebastian", "Joaquin", "Rafael", "Pablo", "Andres", "Emilio",
	"Piotr", "Krzysztof", "Tomasz", "Pawel", "Jakub", "Dmitri", "Sergei", "Ivan",
	"Alexei", "Nikolai", "Mikhail", "Andrei", "Bogdan", "Lars", "Erik", "Anders",
	"Magnus", "Bjorn", "Sven", "Nils", "Matthias", "Stefan", "Jurgen", "Klaus",
	"Wei", "Jun", "Hao", "Lei", "Ming", "Chen", "Hiroshi", "Takeshi",
	"Kenji", "Haruto", "Ren", "Min-jun", "Seo-jun", "Ji-ho", "Arjun", "Rohan",
	"Vikram", "Rahul", "Sanjay", "Mohammed", "Ahmed", "Omar", "Yusuf", "Ali",
	"Hassan", "Karim", "Tariq", "Chinedu", "Emeka", "Oluwaseun", "Kwame", "Kofi",
	"Tendai", "Sipho", "Thabo", "Jomo", "Sean", "Cian", "Padraig", "Declan",
	"Rhys", "Gareth", "Callum", "Angus", "Marco", "Luca", "Giovanni", "Matteo",
	"Louis", "Hugo", "Antoine", "Mathieu", "Minh", "Quang", "Duc", "Keanu",
	"Kai", "Mateus", "Joao", "Tiago", "Eitan", "Avi", "Yosef", "Mustafa",
}

var firstNamesNeutral = []string{
	"Alex", "Jordan", "Taylor", "Morgan", "Casey", "Jamie", "Robin", "Avery",
	"Quinn", "Rowan", "Sasha", "Kim", "Ari", "Noa", "Eden", "Sam",
	"Charlie", "Reese", "Skyler", "Emerson", "River", "Sage", "Dakota", "Ash",
}

var lastNames = []string{
	"Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson",
	"Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Lee", "Thompson",
	"White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen",
	"King", "Wright", "Scott", "Hill", "Green", "Adams", "Baker", "Nelson",
	"Campbell", "Mitchell", "Roberts", "Carter", "Phillips", "Evans", "Turner", "Parker",
	"Collins", "Edwards", "Stewart", "Morris", "Murphy", "Cook", "Rogers", "Morgan",
	"Garcia", "Martinez", "Rodriguez", "Hernandez", "Lopez", "Gonzalez", "Perez", "Sanchez",
	"Ramirez", "Torres", "Flores", "Rivera", "Gomez", "Diaz", "Reyes", "Cruz",
	"Morales", "Ortiz", "Gutierrez", "Castillo", "Jimenez", "Vargas", "Romero", "Alvarez",
	"Fernandes", "Silva", "Santos", "Oliveira", "Pereira", "Costa", "Carvalho", "Almeida",
	"Nowak", "Kowalski", "Wisniewski", "Wojcik", "Kaminski", "Lewandowski", "Zielinski", "Szymanski",
	"Ivanov", "Smirnov", "Kuznetsov", "Popov", "Sokolov", "Petrov", "Volkov", "Novak",
	"Horvat", "Kovacs", "Nagy", "Szabo", "Popescu", "Ionescu", "Dimitrov", "Georgiev",
	"Muller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
	"Hoffmann", "Schulz", "Koch", "Richter", "Jansen", "De Vries", "Van Dijk", "Bakker",
	"Visser", "Peeters", "Janssens", "Hansen", "Nielsen", "Jensen", "Andersson", "Johansson",
	"Karlsson", "Lindqvist", "Virtanen", "Korhonen", "Nieminen", "Rossi", "Russo", "Ferrari",
	"Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco", "Bruno",
	"Dubois", "Lefebvre", "Moreau", "Laurent", "Simon", "Michel", "Garnier", "Fontaine",
	"O'Brien", "O'Connor", "O'Sullivan", "McCarthy", "Kelly", "Byrne", "Ryan", "Walsh",
	"MacDonald", "MacLeod", "Fraser", "Sinclair", "Jones-Price", "Llewellyn", "Pritchard", "Vaughan",
	"Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao",
	"Wu", "Zhou", "Xu", "Sun", "Ma", "Zhu", "Hu", "Lin",
	"Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura",
	"Kobayashi", "Kato", "Kim", "Park", "Choi", "Jung", "Kang", "Cho",
	"Nguyen", "Tran", "Le", "Pham", "Hoang", "Phan", "Vu", "Dang",
	"Patel", "Sharma", "Singh", "Kumar", "Gupta", "Reddy", "Iyer", "Nair",
	"Khan", "Ahmed", "Hussain", "Rahman", "Chowdhury", "Hassan", "Ibrahim", "Abdullah",
	"Haddad", "Khoury", "Mansour", "Nasser", "Saleh", "Aziz", "Farouk", "Yilmaz",
	"Kaya", "Demir", "Sahin", "Celik", "Okafor", "Okonkwo", "Adeyemi", "Balogun",
	"Mensah", "Owusu", "Boateng", "Mwangi", "Otieno", "Kamau", "Dlamini", "Nkosi",
	"Cohen", "Levi", "Mizrahi", "Friedman", "Katz", "Kahananui", "Makoa", "Tupou",
}

var specialties = []string{
	"Cardiology", "Neurology", "Oncology", "Pediatrics", "Internal Medicine",
	"Family Medicine", "Endocrinology", "Gastroenterology", "Pulmonology", "Nephrology",
	"Rheumatology", "Dermatology", "Psychiatry", "Orthopedics", "Radiology",
	"Pathology", "Obstetrics and Gynecology", "Urology", "Ophthalmology", "Emergency Medicine",
	"Geriatrics", "Hematology", "Infectious Disease", "General Surgery",
}

// reportKind is one kind of clinical document: its spec report_type, a
// title, and the summaries it may carry once processed.
type reportKind struct {
	typ       string
	title     string
	summaries []string
}

var reportKinds = []reportKind{
	{"LAB", "Complete Blood Count", []string{
		"Haemoglobin, white cell and platelet counts within reference ranges.",
		"Mild normocytic anaemia (Hb 11.2 g/dL); otherwise unremarkable.",
		"Elevated white cell count with neutrophilia, consistent with acute infection.",
	}},
	{"LAB", "Lipid Panel", []string{
		"Total cholesterol 5.9 mmol/L, LDL 3.8 mmol/L; lifestyle advice given.",
		"Lipid profile within target on current statin therapy.",
		"Raised triglycerides (2.6 mmol/L); repeat fasting sample advised.",
	}},
	{"LAB", "HbA1c", []string{
		"HbA1c 48 mmol/mol, at the diagnostic threshold for diabetes.",
		"HbA1c 53 mmol/mol, improved from previous result.",
		"HbA1c 39 mmol/mol, within normal range.",
	}},
	{"LAB", "Basic Metabolic Panel", []string{
		"Electrolytes and renal function within normal limits.",
		"eGFR 52 mL/min/1.73m2, stable chronic kidney disease stage 3a.",
		"Mild hypokalaemia (K 3.3 mmol/L); supplementation considered.",
	}},
	{"LAB", "Thyroid Function Tests", []string{
		"TSH and free T4 within reference ranges.",
		"Raised TSH with low free T4, consistent with primary hypothyroidism.",
	}},
	{"LAB", "Liver Function Tests", []string{
		"Liver enzymes and bilirubin within normal limits.",
		"Mildly raised ALT, likely related to fatty liver; recheck in 3 months.",
	}},
	{"LAB", "Urinalysis", []string{
		"No protein, blood, leucocytes or nitrites detected.",
		"Positive leucocytes and nitrites; urine sent for culture.",
	}},
	{"IMAGING", "Chest X-Ray", []string{
		"Clear lung fields, normal cardiac silhouette.",
		"Right lower lobe consolidation, consistent with pneumonia.",
		"Hyperinflated lungs, in keeping with COPD; no acute change.",
	}},
	{"IMAGING", "MRI Brain", []string{
		"No acute intracranial abnormality.",
		"Scattered small white matter hyperintensities, likely chronic small vessel disease.",
	}},
	{"IMAGING", "CT Abdomen and Pelvis", []string{
		"No acute abdominal pathology identified.",
		"Uncomplicated sigmoid diverticulitis.",
		"Simple renal cyst, left kidney; no follow-up required.",
	}},
	{"IMAGING", "Abdominal Ultrasound", []string{
		"Gallbladder contains multiple calculi without signs of cholecystitis.",
		"Normal liver, gallbladder, kidneys and spleen.",
	}},
	{"IMAGING", "Echocardiogram", []string{
		"Normal left ventricular size and function, ejection fraction 60%.",
		"Mildly reduced ejection fraction (45%) with mild mitral regurgitation.",
	}},
	{"IMAGING", "Mammogram", []string{
		"No suspicious mass or calcification. BI-RADS 1.",
		"Probably benign finding; short-interval follow-up advised. BI-RADS 3.",
	}},
	{"IMAGING", "X-Ray Left Wrist", []string{
		"Undisplaced distal radius fracture.",
		"No fracture or dislocation.",
	}},
	{"PATHOLOGY", "Skin Biopsy", []string{
		"Seborrhoeic keratosis; no dysplasia.",
		"Basal cell carcinoma, nodular type, completely excised.",
	}},
	{"PATHOLOGY", "Colon Polyp Histology", []string{
		"Tubular adenoma with low-grade dysplasia, completely removed.",
		"Hyperplastic polyp; no dysplasia.",
	}},
	{"PATHOLOGY", "Cervical Cytology", []string{
		"Negative for intraepithelial lesion or malignancy.",
		"Low-grade squamous intraepithelial lesion; colposcopy advised.",
	}},
	{"PATHOLOGY", "Lymph Node Biopsy", []string{
		"Reactive lymphoid hyperplasia; no evidence of lymphoma.",
	}},
	{"CONSULTATION", "Cardiology Consultation", []string{
		"Stable angina; started on beta blocker, exercise test arranged.",
		"Palpitations with normal Holter monitoring; reassured.",
	}},
	{"CONSULTATION", "Neurology Consultation", []string{
		"Migraine without aura; preventive therapy discussed.",
		"Peripheral neuropathy, likely diabetic; nerve conduction studies requested.",
	}},
	{"CONSULTATION", "Endocrinology Consultation", []string{
		"Type 2 diabetes with suboptimal control; metformin dose increased.",
		"Subclinical hypothyroidism; observe and repeat TFTs in 6 months.",
	}},
	{"CONSULTATION", "Follow-up Visit", []string{
		"Symptoms resolved; no further follow-up required.",
		"Blood pressure controlled on current medication; review in 6 months.",
		"Ongoing knee pain; physiotherapy referral made.",
	}},
	{"CONSULTATION", "Pre-operative Assessment", []string{
		"Fit for surgery under general anaesthesia; ASA grade 2.",
	}},
}

// drug is one medicine as prescribed: the dosages, frequencies and route
// that go together with it.
type drug struct {
	name        string
	dosages     []string
	frequencies []string
	route       string
}

var drugs = []drug{
	{"Metformin", []string{"500 mg", "850 mg", "1000 mg"}, []string{"Once daily", "Twice daily"}, "Oral"},
	{"Lisinopril", []string{"5 mg", "10 mg", "20 mg"}, []string{"Once daily"}, "Oral"},
	{"Atorvastatin", []string{"10 mg", "20 mg", "40 mg", "80 mg"}, []string{"Once daily at night"}, "Oral"},
	{"Amlodipine", []string{"5 mg", "10 mg"}, []string{"Once daily"}, "Oral"},
	{"Levothyroxine", []string{"25 mcg", "50 mcg", "75 mcg", "100 mcg"}, []string{"Once daily before breakfast"}, "Oral"},
	{"Omeprazole", []string{"20 mg", "40 mg"}, []string{"Once daily"}, "Oral"},
	{"Amoxicillin", []string{"250 mg", "500 mg"}, []string{"Three times daily"}, "Oral"},
	{"Salbutamol", []string{"100 mcg per puff"}, []string{"Two puffs as needed", "Four times daily as needed"}, "Inhalation"},
	{"Insulin glargine", []string{"10 units", "16 units", "24 units"}, []string{"Once daily at bedtime"}, "Subcutaneous"},
	{"Ceftriaxone", []string{"1 g", "2 g"}, []string{"Once daily"}, "IV"},
	{"Enoxaparin", []string{"40 mg", "1 mg/kg"}, []string{"Once daily", "Twice daily"}, "Subcutaneous"},
	{"Sertraline", []string{"50 mg", "100 mg"}, []string{"Once daily"}, "Oral"},
	{"Ibuprofen", []string{"200 mg", "400 mg"}, []string{"Every 8 hours as needed"}, "Oral"},
	{"Paracetamol", []string{"500 mg", "1 g"}, []string{"Every 6 hours as needed"}, "Oral"},
	{"Prednisolone", []string{"5 mg", "20 mg", "40 mg"}, []string{"Once daily in the morning"}, "Oral"},
	{"Warfarin", []string{"1 mg", "3 mg", "5 mg"}, []string{"Once daily in the evening"}, "Oral"},
	{"Apixaban", []string{"2.5 mg", "5 mg"}, []string{"Twice daily"}, "Oral"},
	{"Metoprolol", []string{"25 mg", "50 mg", "100 mg"}, []string{"Twice daily"}, "Oral"},
	{"Furosemide", []string{"20 mg", "40 mg"}, []string{"Once daily in the morning"}, "Oral"},
	{"Gabapentin", []string{"300 mg", "600 mg"}, []string{"Three times daily"}, "Oral"},
	{"Simvastatin", []string{"20 mg", "40 mg"}, []string{"Once daily at night"}, "Oral"},
	{"Losartan", []string{"25 mg", "50 mg", "100 mg"}, []string{"Once daily"}, "Oral"},
	{"Hydrochlorothiazide", []string{"12.5 mg", "25 mg"}, []string{"Once daily"}, "Oral"},
	{"Azithromycin", []string{"250 mg", "500 mg"}, []string{"Once daily"}, "Oral"},
	{"Ciprofloxacin", []string{"250 mg", "500 mg"}, []string{"Twice daily"}, "Oral"},
	{"Doxycycline", []string{"100 mg"}, []string{"Once daily", "Twice daily"}, "Oral"},
	{"Montelukast", []string{"10 mg"}, []string{"Once daily at bedtime"}, "Oral"},
	{"Fluticasone", []string{"50 mcg per spray"}, []string{"Two sprays each nostril once daily"}, "Intranasal"},
	{"Pantoprazole", []string{"20 mg", "40 mg"}, []string{"Once daily"}, "Oral"},
	{"Clopidogrel", []string{"75 mg"}, []string{"Once daily"}, "Oral"},
	{"Tramadol", []string{"50 mg"}, []string{"Every 6 hours as needed"}, "Oral"},
	{"Morphine sulfate", []string{"2 mg", "5 mg"}, []string{"Every 4 hours as needed"}, "IV"},
	{"Colecalciferol", []string{"1000 IU", "2000 IU"}, []string{"Once daily"}, "Oral"},
	{"Ferrous sulfate", []string{"200 mg", "325 mg"}, []string{"Once daily", "Twice daily"}, "Oral"},
	{"Allopurinol", []string{"100 mg", "300 mg"}, []string{"Once daily"}, "Oral"},
	{"Tamsulosin", []string{"0.4 mg"}, []string{"Once daily"}, "Oral"},
	{"Escitalopram", []string{"5 mg", "10 mg", "20 mg"}, []string{"Once daily"}, "Oral"},
	{"Bisoprolol", []string{"2.5 mg", "5 mg", "10 mg"}, []string{"Once daily"}, "Oral"},
	{"Ramipril", []string{"2.5 mg", "5 mg", "10 mg"}, []string{"Once daily"}, "Oral"},
	{"Spironolactone", []string{"25 mg", "50 mg"}, []string{"Once daily"}, "Oral"},
	{"Methotrexate", []string{"7.5 mg", "15 mg"}, []string{"Once weekly"}, "Oral"},
	{"Hydroxychloroquine", []string{"200 mg"}, []string{"Twice daily"}, "Oral"},
	{"Latanoprost", []string{"0.005%"}, []string{"One drop each eye at bedtime"}, "Ophthalmic"},
	{"Nitrofurantoin", []string{"50 mg", "100 mg"}, []string{"Twice daily"}, "Oral"},
	{"Ondansetron", []string{"4 mg", "8 mg"}, []string{"Every 8 hours as needed"}, "Oral"},
	{"Vancomycin", []string{"1 g", "15 mg/kg"}, []string{"Every 12 hours"}, "IV"},
	{"Heparin", []string{"5000 units"}, []string{"Every 12 hours"}, "Subcutaneous"},
	{"Methylprednisolone", []string{"40 mg", "125 mg"}, []string{"Once daily"}, "IM"},
}
