using System.Management.Automation;

namespace LightningCkpt.Commands
{
    /// <summary>
    /// The -Verbose lines every cmdlet writes, in one wording: which file was read or written and how many tensors,
    /// so a script's log says what it acted on. URLs are shown redacted, as everywhere else.
    /// </summary>
    internal static class VerboseReport
    {
        /// <summary>"Read 'last.ckpt' (Zip): 23 tensors listed, 4 emitted".</summary>
        public static void Read(Cmdlet cmdlet, string file, string what) => cmdlet.WriteVerbose($"Read '{RemoteInput.Shown(file)}': {what}.");

        /// <summary>"Wrote 'weights.safetensors': 4 tensors from 'last.ckpt'".</summary>
        public static void Wrote(Cmdlet cmdlet, string file, string what) => cmdlet.WriteVerbose($"Wrote '{file}': {what}.");

        /// <summary>"1 tensor", "23 tensors".</summary>
        public static string Tensors(long count) => count == 1 ? "1 tensor" : $"{count} tensors";
    }
}
