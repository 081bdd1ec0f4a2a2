using System;
using System.Runtime.InteropServices;

namespace LightningCkpt.Writing
{
    /// <summary>
    /// The CRC-32 of the zlib that .NET (Core) ships inside its own <c>System.IO.Compression.Native</c> library
    /// (export <c>CompressionNative_Crc32</c>, carry-less-multiply folding: ~10 GB/s where the managed slicing code
    /// does ~2 GB/s). Nothing is installed for it: .NET Framework (Windows PowerShell 5.1) and hosts that link it
    /// statically lack the export, and the first call finds that out once; the library is only trusted after it
    /// gives the right answer on a probe, so a different export under the same name cannot corrupt an archive.
    /// </summary>
    internal static unsafe class RuntimeZlibCrc32
    {
        [DllImport("System.IO.Compression.Native", EntryPoint = "CompressionNative_Crc32")]
        private static extern uint Crc32(uint crc, byte* buffer, int length);

        private static readonly bool Present = Probe();

        /// <summary>Whether the runtime's zlib is there and computes the standard CRC-32.</summary>
        public static bool IsAvailable => Present;

        /// <summary>Continues a CRC like <see cref="Writing.Crc32.Update(uint, byte*, long)"/>; only call when <see cref="IsAvailable"/>.</summary>
        public static uint Update(uint crc, byte* p, long count)
        {
            while (count > 0)
            {
                int n = (int)Math.Min(count, 1 << 30);
                crc = Crc32(crc, p, n);
                p += n;
                count -= n;
            }
            return crc;
        }

        private static bool Probe()
        {
            try
            {
                // the standard check value of CRC-32/ISO-HDLC, split to test continuation too
                byte* check = stackalloc byte[9];
                for (int i = 0; i < 9; i++) check[i] = (byte)('1' + i);
                return Crc32(Crc32(0, check, 4), check + 4, 5) == 0xCBF43926u;
            }
            catch (DllNotFoundException) { return false; }
            catch (EntryPointNotFoundException) { return false; }
            catch (BadImageFormatException) { return false; }
        }
    }
}
