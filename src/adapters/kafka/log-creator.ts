import './group-fix.ts'; // before kafkajs (see group-fix.ts)
import kafkajs, { type logCreator } from 'kafkajs';
import type { Logger } from '../../runtime/logger.ts';

const { logLevel } = kafkajs;

/** Routes kafkajs logs into pino (warn and above; kafkajs info is chatty). */
export function kafkaLogCreator(logger: Logger): logCreator {
  const child = logger.child({ component: 'kafkajs' });
  return () => ({ level, log }) => {
    const { message, ...extra } = log;
    if (level === logLevel.ERROR) child.error(extra, message);
    else if (level === logLevel.WARN) child.warn(extra, message);
  };
}
