/** Payloads and FLOPs per local iteration (MODEL.md §4), against hand-computed values. */
import { COST_PROFILES, DEFAULT_MODEL_CONFIG, costs, headParamCount } from '../models';

describe('costs', () => {
  it('charges the digits model’s actual payloads (b 16, 17 tokens, d 128, q 32)', () => {
    const c = costs(DEFAULT_MODEL_CONFIG, 'actual', 16, 32);
    expect(c.profile).toBe('actual');
    expect(c.activationsBits).toBe(16 * 17 * 128 * 32); // 1,114,112
    expect(c.featuresBits).toBe(16 * 17 * 128 * 32);
    expect(c.gradientsBits).toBe(c.featuresBits);
    expect(c.headParams).toBe(2 * 128 + 128 * 10 + 10);
    expect(c.headBits).toBe(1546 * 32);
    // MODEL.md §8's rough check: τ = 5 iterations move about 11 Mbit up
    expect((5 * (c.activationsBits + c.gradientsBits) + c.headBits) / 1e6).toBeCloseTo(11.19, 1);
    expect(c.loraParams).toBe(2 * 2 * 2 * 128 * 8);
  });

  it('counts F_dev = b(F_emb + 3F_head) and F_srv = b·F_enc,train', () => {
    const c = costs(DEFAULT_MODEL_CONFIG, 'actual', 16, 32);
    expect(c.deviceFlopsPerSample).toBe(c.flops.embedForward + 3 * c.flops.headForward);
    expect(c.serverFlopsPerSample).toBe(c.flops.encoderForward + c.flops.encoderBackward);
    expect(c.deviceFlopsPerIteration).toBe(16 * c.deviceFlopsPerSample);
    expect(c.serverFlopsPerIteration).toBe(16 * c.serverFlopsPerSample);
    // Embedding: 16 patches × 49 × 128 multiply-adds, plus bias and position adds
    expect(c.flops.embedForward).toBe(2 * 16 * 49 * 128 + 16 * 128 + 17 * 128);
    // Encoder forward is dominated by the products: 4 projections + FFN + attention + LoRA per block
    const products = 2 * (4 * 2 * 17 * 128 * 128 + 2 * 2 * 17 * 128 * 256 + 2 * 2 * 4 * 17 * 17 * 32 + 2 * 2 * 17 * (128 * 8 + 8 * 128));
    expect(c.flops.encoderForward).toBeGreaterThan(products);
    expect(c.flops.encoderForward).toBeLessThan(products * 1.1);
  });

  it('charges a BERT-base-sized encoder under the bert-base profile, and says so', () => {
    const c = costs(DEFAULT_MODEL_CONFIG, 'bert-base', 16, 32);
    expect(c.profile).toBe('bert-base');
    expect(c.profileDescription).toBe(COST_PROFILES['bert-base'].description);
    expect(c.activationsBits).toBe(16 * 17 * 768 * 32);
    expect(c.headBits).toBe(headParamCount(768, 10) * 32);
    expect(c.blocks).toBe(12);
    // ~ 12 blocks × 17 tokens × (4·768² + 2·768·3072) × 2 ≈ 2.9 GFLOP forward per sample
    expect(c.flops.encoderForward / 1e9).toBeCloseTo(2.9, 0);
    expect(c.loraParams).toBe(12 * 2 * 2 * 768 * 8);
  });

  it('takes L_f = 1 when the server pools', () => {
    const c = costs(DEFAULT_MODEL_CONFIG, 'actual', 16, 16, { featureTokens: 1 });
    expect(c.featuresBits).toBe(16 * 1 * 128 * 16);
    expect(c.activationsBits).toBe(16 * 17 * 128 * 16);
  });
});
