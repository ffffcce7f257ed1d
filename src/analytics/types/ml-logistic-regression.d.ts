/**
 * Types for ml-logistic-regression 2.x, which ships none. Only what src/analytics/train.ts uses;
 * read against node_modules/ml-logistic-regression/src/*.js (one-vs-rest over classes 0..k-1;
 * classifier i is trained with class i as target 0 and every other class as 1, so for labels
 * {0, 1} classifiers[0] models P(y = 1); no intercept term: add a column of ones).
 */
declare module 'ml-logistic-regression' {
  import type { Matrix } from 'ml-matrix';

  interface LogisticRegressionTwoClasses {
    /** 1 × columns row of weights, set by train(). */
    weights: Matrix;
    /** sigmoid(X · wᵀ) per row. */
    testScores(features: Matrix): number[];
  }

  export default class LogisticRegression {
    constructor(options?: { numSteps?: number; learningRate?: number });
    numberClasses: number;
    classifiers: LogisticRegressionTwoClasses[];
    /** Full-batch gradient ascent: w += learningRate · Xᵀ(y − p), numSteps times, from w = 0. */
    train(features: Matrix, target: Matrix): void;
    /** Class index per row (the class whose one-vs-rest score is lowest). */
    predict(features: Matrix): number[];
  }
}
