using System.Diagnostics;

namespace Akka.EventDriven.Hosting.Tests;

/// <summary>The main job (samples/IntelOps) runs on the embedded default, in a fresh folder, twice in a row.</summary>
public sealed class MainJobSpec
{
    [Fact]
    public async Task IntelOps_recovers_every_investigation_after_a_restart_and_can_run_again_on_the_same_file()
    {
        var job = Path.Combine(
            AppContext.BaseDirectory.Replace(Path.Combine("tests", "Akka.EventDriven.Hosting.Tests"), Path.Combine("samples", "IntelOps")),
            "IntelOps.dll");
        Assert.True(File.Exists(job), $"IntelOps not built at {job}");
        var folder = Directory.CreateTempSubdirectory("intelops-").FullName;
        try
        {
            for (var run = 1; run <= 2; run++)
            {
                var (exit, output) = await RunAsync(job, folder, "25");
                Assert.True(exit == 0, $"run {run} exited {exit}:\n{output}");
                Assert.Contains("25/25 investigations recovered with identical state and version", output);
                Assert.Contains("investigation.started.v1", output);
                Assert.Contains("IntelOps: OK", output);
            }
            Assert.True(File.Exists(Path.Combine(folder, "data", "intelops.db")));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task<(int Exit, string Output)> RunAsync(string dll, string folder, string investigations)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add(investigations);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try { await process.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException) { process.Kill(entireProcessTree: true); throw; }
        return (process.ExitCode, await stdout + await stderr);
    }
}
