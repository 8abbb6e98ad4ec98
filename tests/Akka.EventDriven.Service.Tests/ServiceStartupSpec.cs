namespace Akka.EventDriven.Service.Tests;

/// <summary>The service refuses to start on bad configuration, with a message naming the variable.</summary>
public sealed class ServiceStartupSpec : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("eventdriven-service-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }

    [Theory]
    [InlineData("test")]
    [InlineData("production")]
    public async Task Outside_development_without_an_API_key_the_process_exits_non_zero_naming_EVENTDRIVEN_API_KEYS(string environment)
    {
        await using var service = ServiceProcess.Start(new Dictionary<string, string>
        {
            ["AKKA_ENV"] = environment,
            ["PORT"] = TestWait.FreePort().ToString(),
            ["HTTP_HOST"] = "127.0.0.1",
        }, _directory);
        var exit = await service.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.NotNull(exit);
        Assert.NotEqual(0, exit);
        Assert.Contains("EVENTDRIVEN_API_KEYS", service.Output);
    }

    [Fact]
    public async Task A_module_that_cannot_be_found_stops_the_start_naming_EVENTDRIVEN_MODULES()
    {
        await using var service = ServiceProcess.Start(new Dictionary<string, string>
        {
            ["PORT"] = TestWait.FreePort().ToString(),
            ["HTTP_HOST"] = "127.0.0.1",
            ["EVENTDRIVEN_MODULES"] = "./no-such-module.dll",
        }, _directory);
        var exit = await service.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(2, exit);
        Assert.Contains("EVENTDRIVEN_MODULES", service.Output);
        Assert.Contains("no-such-module.dll", service.Output);
    }
}
