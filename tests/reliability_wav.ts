/**
 * Rows of the reliability table (see tests/reliability_cases.ts) for WAV parsing (WavReader and wavFrames share one parser).
 */
import type { Case } from "./reliability_cases.ts";

/** The rows. */
export const wavCases: Case[] = [];
