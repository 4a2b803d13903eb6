package org.compress.bench; public class Placeholder {}
