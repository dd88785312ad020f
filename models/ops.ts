/**
 * Tensor operations of the transformer, with hand-written gradients that avoid the wasm
 * backend's slow transposed matrix products (transposeA/transposeB kernels are
 * 10–20x slower than the plain one, and tfjs's matMul gradient uses them). Every product
 * here is a plain `matMul(a, b)`; transposes are explicit copies, and frozen weights are
 * multiplied against a transposed copy made once at load time.
 */
import * as tf from '@tensorflow/tfjs';

type T2 = tf.Tensor2D;
type T3 = tf.Tensor3D;

type GradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];

/** tf.customGrad with typed inputs: `fn(inputs, save)` returns the value and the gradient function. */
function custom(
  fn: (inputs: tf.Tensor[], save: tf.GradSaveFunc) => { value: tf.Tensor; gradFunc: GradFunc },
): (...args: tf.Tensor[]) => tf.Tensor {
  const f = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    return fn(args.slice(0, -1) as tf.Tensor[], save);
  }) as Parameters<typeof tf.customGrad>[0]);
  return f as (...args: tf.Tensor[]) => tf.Tensor;
}

const t2 = (x: tf.Tensor): T2 => tf.transpose(x as T2) as T2;

/** y = x·W + b with only x differentiable; `wT` is W's transpose, so dx = dy·Wᵀ is a plain product. */
export function frozenDense(x: T2, w: T2, wT: T2, b: tf.Tensor1D): T2 {
  const f = custom(([xi]) => ({
    value: tf.fused.matMul({ a: xi as T2, b: w, bias: b }),
    gradFunc: (dy) => [tf.matMul(dy as T2, wT)],
  }));
  return f(x) as T2;
}

/**
 * y = x·W + b + s·(x·A)·B, a frozen projection with a LoRA adapter (A [dIn, r], B [r, dOut]).
 * Differentiable in x, A and B. Gradients: u = x·A; dB = s·uᵀ·dy; du = s·dy·Bᵀ; dA = xᵀ·du;
 * dx = dy·Wᵀ + du·Aᵀ.
 */
export function loraDense(x: T2, w: T2, wT: T2, b: tf.Tensor1D, a: T2, bb: T2, scale: number): T2 {
  const f = custom(([xi, ai, bi], save) => {
    save([xi as T2, ai as T2, bi as T2]);
    const value = tf.add(
      tf.fused.matMul({ a: xi as T2, b: w, bias: b }),
      tf.matMul(tf.matMul(xi as T2, ai as T2), tf.mul(bi as T2, scale) as T2),
    ) as T2;
    const gradFunc: GradFunc = (dyIn, saved) => {
      const [xx, aa, bm] = saved as [T2, T2, T2];
      const dy = dyIn as T2;
      const u = tf.matMul(xx, aa);
      const dB = tf.mul(tf.matMul(t2(u), dy), scale);
      const du = tf.mul(tf.matMul(dy, t2(bm)), scale) as T2;
      const dA = tf.matMul(t2(xx), du);
      const dx = tf.add(tf.matMul(dy, wT), tf.matMul(du, t2(aa)));
      return [dx, dA, dB];
    };
    return { value, gradFunc };
  });
  return f(x, a, bb) as T2;
}

/** y = x·W + b with x, W and b differentiable (pre-training); gradients use plain products only. */
export function trainableDense(x: T2, w: T2, b: tf.Tensor1D): T2 {
  const f = custom(([xi, wi, bi], save) => {
    save([xi as T2, wi as T2]);
    return {
      value: tf.fused.matMul({ a: xi as T2, b: wi as T2, bias: bi as tf.Tensor1D }),
      gradFunc: (dyIn, saved) => {
        const [xs, ws] = saved as [T2, T2];
        const dy = dyIn as T2;
        return [tf.matMul(dy, t2(ws)), tf.matMul(t2(xs), dy), tf.sum(dy, 0)];
      },
    };
  });
  return f(x, w, b) as T2;
}

/** rows = oneHot·table with only the table differentiable (pre-training's token embedding); d table = oneHotᵀ·dy, a plain product. */
export function tokenLookup(oneHot: T2, table: T2): T2 {
  const f = custom(([ti], save) => {
    save([oneHot]); // kept for the backward pass, which runs after the forward's tidy
    return { value: tf.matMul(oneHot, ti as T2), gradFunc: (dy, saved) => [tf.matMul(t2(saved[0] as T2), dy as T2)] };
  });
  return f(table) as T2;
}

const bt = (x: tf.Tensor): T3 => tf.transpose(x as T3, [0, 2, 1]) as T3;

/** Batched product a·b ([n, p, q]·[n, q, s]) whose gradient uses plain products only. */
export function bmm(a: T3, b: T3): T3 {
  const f = custom(([ai, bi], save) => {
    save([ai as T3, bi as T3]);
    return {
      value: tf.matMul(ai as T3, bi as T3),
      gradFunc: (dyIn, saved) => {
        const [as, bs] = saved as [T3, T3];
        const dy = dyIn as T3;
        return [tf.matMul(dy, bt(bs)), tf.matMul(bt(as), dy)];
      },
    };
  });
  return f(a, b) as T3;
}

/** LayerNorm over the last axis (Ba et al. 2016), eps 1e-5, with the parts its gradient needs: x − mean, variance + ε and its rsqrt. */
export function layerNormParts(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
): { y: tf.Tensor; centered: tf.Tensor; varEps: tf.Tensor; rstd: tf.Tensor } {
  const mean = tf.mean(x, -1, true);
  const centered = tf.sub(x, mean);
  const variance = tf.mean(tf.mul(centered, centered), -1, true);
  const varEps = tf.add(variance, 1e-5);
  const rstd = tf.rsqrt(varEps);
  return { y: tf.add(tf.mul(tf.mul(centered, rstd), gamma), beta), centered, varEps, rstd };
}

/** LayerNorm over the last axis (Ba et al. 2016), eps 1e-5. */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
  return layerNormParts(x, gamma, beta).y;
}

/** GELU, sigmoid approximation x·σ(1.702x) (Hendrycks & Gimpel 2016; tanh is slow on wasm), with σ(1.702x), which its gradient needs. */
export function geluParts(x: tf.Tensor): { y: tf.Tensor; sigmoid: tf.Tensor } {
  const sigmoid = tf.sigmoid(tf.mul(x, 1.702));
  return { y: tf.mul(x, sigmoid), sigmoid };
}

/** GELU, sigmoid approximation x·σ(1.702x). */
export function gelu(x: tf.Tensor): tf.Tensor {
  return geluParts(x).y;
}
