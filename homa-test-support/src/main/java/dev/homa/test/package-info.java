/**
 * Support for the tests of every module that depends on no Homa module: the package graph of compiled classes
 * and the public surface of a module.
 */
package dev.homa.test;
