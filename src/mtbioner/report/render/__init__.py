"""Numbers into readable products: `tables` (Tables 2-4, FP rates), `casestudy` (Table 5), `figures`
(Figures 4-6), `summary` (generated prose and the DVC metrics JSON) and `page` (report.md)."""
