using System;
using System.IO;
using System.Management.Automation;
using System.Reflection;
using System.Runtime.InteropServices;

namespace LightningCkpt.Commands
{
    /// <summary>
    /// At Import-Module, before any cmdlet touches LightningCkpt.Core, loads the ReadyToRun (precompiled) copy of Core
    /// from the module's linux-x64 folder when this process can run its native code: .NET (not .NET Framework) on
    /// Linux, x64. The first Get-CkptInfo then JIT-compiles ~10 methods instead of ~380. Then Core is loaded (that
    /// copy or the IL-only one), so its public types resolve in the session from the start.
    /// </summary>
    /// <remarks>
    /// A ReadyToRun image is specific to one OS and CPU: CoreCLR refuses one built for another with
    /// BadImageFormatException (ReadyToRunInfo::Initialize), and .NET Framework cannot load it at all (not IL-only,
    /// unknown PE machine). So the IL-only Core stays beside this assembly, where every other PowerShell (Windows
    /// PowerShell 5.1, pwsh on Windows, macOS or Arm) finds it exactly as before; this class does nothing there. Any
    /// failure here leaves the IL-only Core to load as usual.
    /// </remarks>
    public sealed class ReadyToRunCore : IModuleAssemblyInitializer
    {
        /// <summary>The module subfolder of the linux-x64 ReadyToRun Core (build.ps1 makes it).</summary>
        internal const string Folder = "linux-x64";

        internal const string CoreFileName = "LightningCkpt.Core.dll";

        /// <summary>Called by PowerShell when the module is imported.</summary>
        public void OnImport()
        {
            try
            {
                if (!CanRun(typeof(object).Assembly.GetName().Name, RuntimeInformation.IsOSPlatform(OSPlatform.Linux), RuntimeInformation.ProcessArchitecture)) return;
                string? moduleBase = Path.GetDirectoryName(typeof(ReadyToRunCore).Assembly.Location);
                if (string.IsNullOrEmpty(moduleBase)) return;
                string image = Path.Combine(moduleBase, Folder, CoreFileName);
                if (File.Exists(image)) Assembly.LoadFrom(image);
            }
            catch (Exception)
            {
                // Core already loaded, or the image unusable: the IL-only Core beside this assembly serves as before.
            }
            try { LoadCore(); }
            catch (Exception) { /* the first cmdlet loads it, as before */ }
        }

        /// <summary>
        /// Loads Core (the ReadyToRun copy when the step above loaded it) so its public types, such as
        /// [LightningCkpt.Limits] whose settable limits a user may raise, are known to the session before any cmdlet
        /// has run. A method of its own, not inlined: compiling OnImport must not bind Core before the step above.
        /// </summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        private static void LoadCore() => _ = typeof(Limits).Assembly;

        /// <summary>
        /// Whether a process can run linux-x64 ReadyToRun code: CoreCLR (its core library is System.Private.CoreLib;
        /// .NET Framework's is mscorlib), on Linux, in a 64-bit x86 process.
        /// </summary>
        internal static bool CanRun(string? coreLibrary, bool isLinux, Architecture processArchitecture) =>
            coreLibrary == "System.Private.CoreLib" && isLinux && processArchitecture == Architecture.X64;
    }
}
