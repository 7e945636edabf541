// The native (libc) process environment. Native libraries read their settings with getenv in their
// load-time constructors, and on Linux .NET's Environment.SetEnvironmentVariable changes only the
// runtime's own copy, so an anchor that must see a variable at load time gets it through libc.
using System.Runtime.InteropServices;

namespace Engine.Bench.Anchors;

internal static partial class NativeEnv
{
    private const string Libc = "libc.so.6";

    [LibraryImport(Libc, EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int SetEnv(string name, string value, int overwrite);

    [LibraryImport(Libc, EntryPoint = "unsetenv", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int UnsetEnv(string name);

    [LibraryImport(Libc, EntryPoint = "getenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr GetEnv(string name);

    public static string? Get(string name)
    {
        IntPtr p = GetEnv(name);
        return p == IntPtr.Zero ? null : Marshal.PtrToStringUTF8(p);
    }

    /// <summary>Sets (value != null) or removes the variable in the native environment.</summary>
    public static void Set(string name, string? value)
    {
        int rc = value is null ? UnsetEnv(name) : SetEnv(name, value, 1);
        if (rc != 0) throw new InvalidOperationException($"libc {(value is null ? "unsetenv" : "setenv")}({name}) failed, errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>Runs body with the variables set as given (null removes one), then restores the previous values.</summary>
    public static T With<T>(IReadOnlyDictionary<string, string?> vars, Func<T> body)
    {
        var saved = vars.Keys.ToDictionary(k => k, Get);
        try
        {
            foreach (var (k, v) in vars) Set(k, v);
            return body();
        }
        finally
        {
            foreach (var (k, v) in saved) Set(k, v);
        }
    }
}
