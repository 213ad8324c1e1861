export { ErrorCodes, isErrorCode, type ErrorCode } from './codes.js';
export {
  TroupeError,
  isTroupeError,
  type TroupeErrorContext,
  type TroupeErrorOptions,
} from './TroupeError.js';
export * from './subclasses.js';
export {
  toErrorData,
  fromErrorData,
  isErrorData,
  toTroupeError,
  type ErrorData,
} from './errorData.js';
