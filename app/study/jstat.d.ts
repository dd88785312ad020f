/** The part of jstat (1.9, no types of its own) the study statistics use. */
declare module 'jstat' {
  export const jStat: {
    studentt: {
      /** Quantile of Student's t with `dof` degrees of freedom. */
      inv(p: number, dof: number): number;
    };
  };
}
