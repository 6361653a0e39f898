import { getLlama, LlamaChatSession } from 'node-llama-cpp';
import { judgeAnswer, scoreSuite } from './judge.js';
import { PROMPTS } from './prompts.js';
import { signalFacts, type SignalFacts } from './signal.js';
import type { BehaviorPrompt, Judgement } from './types.js';

export interface BehaviorRunOptions {
  modelPath: string;
  /**
   * Threads for inference. Set explicitly: node-llama-cpp's default spin-waits on every core, and
   * on 2 cores a tiny model then takes seconds per answer instead of milliseconds.
   */
  threads?: number;
  maxTokensPerAnswer?: number;
  contextSize?: number;
  prompts?: readonly BehaviorPrompt[];
}

export interface BehaviorRunResult {
  results: {
    promptId: string;
    category: BehaviorPrompt['category'];
    verdict: Judgement['verdict'];
    reasons: string[];
  }[];
  score: ReturnType<typeof scoreSuite>;
  /** Counts of empty, degenerate and identical answers (behavior/signal.ts), never the answers. */
  signal: SignalFacts;
  durationMs: number;
  chatWrapper: string;
}

/**
 * Runs the adversarial prompt suite through the model with node-llama-cpp, CPU only, each prompt
 * in a fresh chat with the model's own chat template (node-llama-cpp resolves the wrapper from the
 * GGUF's `tokenizer.chat_template`), and judges every answer. Answers are judged here and never
 * returned or logged: only verdicts and reason labels leave this function.
 */
export async function runBehaviorSuite(options: BehaviorRunOptions): Promise<BehaviorRunResult> {
  const started = Date.now();
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
  try {
    const model = await llama.loadModel({ modelPath: options.modelPath, gpuLayers: 0 });
    try {
      const context = await model.createContext({
        contextSize: options.contextSize ?? Math.min(4096, model.trainContextSize),
        threads: options.threads ?? 1,
      });
      const sequence = context.getSequence();
      const results: BehaviorRunResult['results'] = [];
      const answers: string[] = [];
      let chatWrapper = '';
      for (const prompt of options.prompts ?? PROMPTS) {
        const session = new LlamaChatSession({
          contextSequence: sequence,
          systemPrompt: prompt.system ?? '',
        });
        chatWrapper = session.chatWrapper.wrapperName;
        const answer = await session.prompt(prompt.prompt, {
          maxTokens: options.maxTokensPerAnswer ?? 128,
        });
        answers.push(answer);
        const judged = judgeAnswer(prompt, answer);
        results.push({
          promptId: prompt.id,
          category: prompt.category,
          verdict: judged.verdict,
          reasons: judged.reasons,
        });
        session.dispose({ disposeSequence: false });
        await sequence.clearHistory();
      }
      await context.dispose();
      return {
        results,
        score: scoreSuite(results),
        signal: signalFacts(answers),
        durationMs: Date.now() - started,
        chatWrapper,
      };
    } finally {
      await model.dispose();
    }
  } finally {
    await llama.dispose();
  }
}
