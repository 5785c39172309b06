/**
 * Runnable examples: {@link dev.homa.examples.EchoDemo}, the README's demo.
 */
package dev.homa.examples;
