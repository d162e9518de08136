# R references for outcomes/compare.py and outcomes/boundary.py.
#
# Writes comparisons.json beside this script (full precision: jsonlite,
# digits = NA; NA / NaN / Inf written as the strings "NA", "NaN", "Inf").
# Run `make r-references` (installs R and the packages from Debian when
# missing), or: Rscript tests/outcomes/r/comparisons.R
# Needs Debian's r-base-core, r-cran-survival, r-cran-cmprsk, r-cran-rpact and
# r-cran-jsonlite. CI never runs R: the tests read the stored JSON.
#
# Data sets (each: time, status 0 = censored / 1.. = cause, group 0/1):
#   lung       ../data/lung.csv: survival::lung, status 1 = death, group = sex - 1
#   bmt        ../data/bmt.arff: Scrucca et al. (2007), group = dis, causes 1, 2
#   ties, one_group, separated, no_overlap, early, large
#              synthetic.csv, written by make_synthetic.py
# For the single-event statistics (log-rank, Cox) the event is status == cause,
# any other status is a censoring (cause-specific); for the median follow-up
# the event is status != 0.

suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
  library(rpact)
  library(jsonlite)
})

script <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
here <- dirname(normalizePath(script))
data_dir <- file.path(here, "..", "data")

lung_raw <- read.csv(file.path(data_dir, "lung.csv"))
bmt_lines <- readLines(file.path(data_dir, "bmt.arff"))
bmt_raw <- read.csv(
  text = bmt_lines[(which(bmt_lines == "@DATA") + 1):length(bmt_lines)],
  header = FALSE, col.names = c("dis", "ftime", "status")
)
synthetic <- read.csv(file.path(here, "synthetic.csv"))

cases <- list(
  lung = data.frame(
    time = lung_raw$time, status = lung_raw$status, group = lung_raw$sex - 1
  ),
  bmt = data.frame(time = bmt_raw$ftime, status = bmt_raw$status, group = bmt_raw$dis)
)
for (name in unique(synthetic$case)) {
  rows <- synthetic[synthetic$case == name, c("time", "status", "group")]
  rownames(rows) <- NULL
  cases[[name]] <- rows
}
# Causes compared in each data set (one_group: cause 3 has no events).
causes <- list(
  lung = 1, bmt = 1:2, ties = 1:2, one_group = 1:3, separated = 1:2,
  no_overlap = 1:2, early = 1:2, large = 1:2
)

# Evaluate, keeping the warnings (coxph warns on a monotone likelihood).
with_warnings <- function(expr) {
  warnings <- character(0)
  value <- withCallingHandlers(expr, warning = function(w) {
    warnings <<- c(warnings, conditionMessage(w))
    invokeRestart("muffleWarning")
  })
  list(value = value, warnings = warnings)
}

logrank_ref <- function(d, cause) {
  run <- with_warnings(survdiff(Surv(time, status == cause) ~ group, data = d))
  s <- run$value
  list(
    chisq = s$chisq,
    df = sum(s$exp > 0) - 1, # as print.survdiff
    p = s$pvalue,
    observed_minus_expected_group1 = unname((s$obs - s$exp)[2]),
    warnings = run$warnings
  )
}

cox_ref <- function(d, cause) {
  run <- with_warnings(coxph(Surv(time, status == cause) ~ group, data = d))
  fit <- run$value
  co <- summary(fit)$coefficients
  ci <- exp(confint(fit))
  list(
    coef = unname(co[1, "coef"]), hr = unname(co[1, "exp(coef)"]),
    se = unname(co[1, "se(coef)"]), p = unname(co[1, "Pr(>|z|)"]),
    lower = unname(ci[1, 1]), upper = unname(ci[1, 2]),
    events = fit$nevent, warnings = run$warnings
  )
}

# Gray's score for the first group level ("0") and its variance: the same
# Fortran call as inside cuminc(), for the sign of z (cuminc returns s^2/v only).
gray_score <- function(d, cause) {
  d <- d[order(d$time), ]
  status <- ifelse(d$status == 0, 0, ifelse(d$status == cause, 1, 2))
  z <- .Fortran("crstm", as.double(d$time), as.integer(status),
    as.integer(factor(d$group)), as.integer(rep(1, nrow(d))),
    as.integer(nrow(d)), as.double(0), 1L, 2L, double(1), matrix(0, 1, 1),
    as.double(d$time), as.integer(status), as.integer(factor(d$group)),
    double(1), double(1), double(1), double(20), integer(8),
    PACKAGE = "cmprsk"
  )
  list(score = z[[9]], variance = z[[10]][1, 1])
}

gray_ref <- function(d, cause) {
  run <- with_warnings(cuminc(d$time, d$status, d$group))
  tests <- run$value$Tests
  key <- as.character(cause)
  if (!key %in% rownames(tests)) {
    return(list(stat = NULL, pv = NULL, df = NULL, absent = TRUE))
  }
  c(
    list(
      stat = unname(tests[key, "stat"]), pv = unname(tests[key, "pv"]),
      df = unname(tests[key, "df"]), absent = FALSE, warnings = run$warnings
    ),
    gray_score(d, cause)
  )
}

follow_up_ref <- function(d) {
  event <- as.integer(d$status != 0)
  q <- quantile(survfit(Surv(d$time, 1 - event) ~ 1), 0.5)
  list(median = unname(q$quantile), lower = unname(q$lower), upper = unname(q$upper))
}

logrank <- list()
cox <- list()
gray <- list()
follow_up <- list()
for (name in names(cases)) {
  d <- cases[[name]]
  for (cause in causes[[name]]) {
    id <- list(case = name, cause = cause)
    logrank[[length(logrank) + 1]] <- c(id, logrank_ref(d, cause))
    cox[[length(cox) + 1]] <- c(id, cox_ref(d, cause))
    gray[[length(gray) + 1]] <- c(id, gray_ref(d, cause))
  }
  follow_up[[length(follow_up) + 1]] <- c(list(case = name), follow_up_ref(d))
}

# Newcombe (1998) method 10 from the two Wilson intervals of prop.test.
newcombe <- function(x1, n1, x2, n2) {
  w1 <- suppressWarnings(prop.test(x1, n1, correct = FALSE))$conf.int
  w2 <- suppressWarnings(prop.test(x2, n2, correct = FALSE))$conf.int
  p1 <- x1 / n1
  p2 <- x2 / n2
  list(
    count1 = x1, n1 = n1, count2 = x2, n2 = n2, estimate = p1 - p2,
    lower = p1 - p2 - sqrt((p1 - w1[1])^2 + (w2[2] - p2)^2),
    upper = p1 - p2 + sqrt((w1[2] - p1)^2 + (p2 - w2[1])^2)
  )
}
proportions <- list(
  c(56, 70, 48, 80), c(9, 10, 3, 10), c(6, 7, 2, 7), c(5, 56, 0, 29),
  c(0, 10, 0, 20), c(0, 10, 0, 10), c(10, 10, 0, 20), c(10, 10, 20, 20),
  c(0, 15, 15, 15), c(17, 167, 9, 167), c(1, 1, 0, 1)
)
proportion <- lapply(proportions, function(x) newcombe(x[1], x[2], x[3], x[4]))

# Two-sided alpha 0.05 unless given; c(0.41, 1) is for an interim look at 0.41.
designs <- list(
  list(rates = c(0.5, 1)), list(rates = c(0.3, 0.62, 1)),
  list(rates = c(0.25, 0.5, 0.75, 1)), list(rates = c(0.41, 1)),
  list(rates = c(0.2, 0.4, 0.6, 0.8, 1)), list(rates = c(0.5, 1), alpha = 0.01)
)
boundaries <- lapply(designs, function(design) {
  alpha <- if (is.null(design$alpha)) 0.05 else design$alpha
  d <- getDesignGroupSequential(
    typeOfDesign = "asOF", alpha = alpha, sided = 2, informationRates = design$rates
  )
  list(
    alpha = alpha, information = design$rates, z = d$criticalValues,
    cumulative_alpha = d$alphaSpent,
    nominal_p = 2 * (1 - pnorm(d$criticalValues)),
    stage_levels_one_sided = d$stageLevels
  )
})

inputs <- c(
  file.path(data_dir, "lung.csv"), file.path(data_dir, "bmt.arff"),
  file.path(here, "synthetic.csv")
)
versions <- sapply(
  c("survival", "cmprsk", "rpact", "jsonlite"),
  function(p) as.character(packageVersion(p)),
  simplify = FALSE
)
out <- list(
  generated_by = "tests/outcomes/r/comparisons.R",
  r_version = R.version.string,
  packages = versions,
  input_md5 = as.list(setNames(unname(tools::md5sum(inputs)), basename(inputs))),
  logrank = logrank, cox = cox, gray = gray, follow_up = follow_up,
  proportion = proportion, boundaries = boundaries
)
writeLines(
  toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "string", null = "null"),
  file.path(here, "comparisons.json")
)
cat("wrote", file.path(here, "comparisons.json"), "\n")
