/**
 * sdkClass returns a class an SDK package exports, for an adapter to extend, when the
 * package is installed; otherwise an empty class, so that the adapters of the SDKs a program
 * does not use cost it nothing. The SDKs are optional peer dependencies: the program's own
 * copy is the one extended.
 */
export function sdkClass<T>(packageName: string, exportName: string): T {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const exported = (require(packageName) as Record<string, unknown>)[exportName];
    if (typeof exported === "function") {
      return exported as T;
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e?.code !== "MODULE_NOT_FOUND" || !String(e.message).includes(packageName)) {
      throw err;
    }
  }
  return class {} as T;
}
