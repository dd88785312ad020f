/** Writes a study's tables and report into its folder (README "Studies"), each file atomically. */
import { join } from 'node:path';
import { writeAtomic } from '../sim/runFolder';
import type { StudyPlan } from './plan';
import type { RunResult } from './results';
import { toCsv } from './csvText';
import { pairedTable, roundsTable, runsTable, summaryTable } from './tables';
import { studyReportHtml } from './studyReport';

/** The files a study writes, by name. */
export const STUDY_FILES = ['runs.csv', 'rounds.csv', 'summary.csv', 'paired.csv', 'report.html'] as const;

/** Writes runs.csv, rounds.csv, summary.csv, paired.csv and report.html from the finished runs. */
export async function writeStudyOutputs(plan: StudyPlan, results: readonly RunResult[], outDir: string): Promise<void> {
  const runs = runsTable(plan, results);
  const summary = summaryTable(plan, results);
  const paired = pairedTable(plan, results);
  const rounds = roundsTable(plan, results);
  writeAtomic(join(outDir, 'runs.csv'), toCsv(runs.columns, runs.rows));
  writeAtomic(join(outDir, 'rounds.csv'), toCsv(rounds.columns, rounds.rows));
  writeAtomic(join(outDir, 'summary.csv'), toCsv(summary.columns, summary.rows));
  writeAtomic(join(outDir, 'paired.csv'), toCsv(paired.columns, paired.rows));
  writeAtomic(join(outDir, 'report.html'), await studyReportHtml(plan, results, { runs, summary, paired }));
}
