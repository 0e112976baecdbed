/**
 * Rows of the reliability table (see tests/reliability_cases.ts) for native nodes and native memory: allocation, size arithmetic, panics, rates.
 */
import type { Case } from "./reliability_cases.ts";

/** The rows. */
export const nativeCases: Case[] = [];
