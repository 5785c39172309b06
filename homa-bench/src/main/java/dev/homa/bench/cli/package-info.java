/**
 * What the bench tools' command lines share.
 */
package dev.homa.bench.cli;
