# The Akka.EventDriven service image: the standalone node (src/Akka.EventDriven.Service) with the IntelOps domain
# module beside it (loaded only when EVENTDRIVEN_MODULES names it). Built by docker-compose.yml:
#   docker compose build
# Multi-stage: the SDK image restores and publishes; the runtime image (ASP.NET Core, no SDK) runs it.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore first, from the project files alone, so that a source change does not invalidate the package layer.
COPY Directory.Build.props Directory.Packages.props ./
COPY src/ src/
COPY samples/IntelOps/IntelOps.csproj samples/IntelOps/
RUN dotnet restore src/Akka.EventDriven.Service/Akka.EventDriven.Service.csproj \
 && dotnet restore samples/IntelOps/IntelOps.csproj
COPY hocon/ hocon/
COPY samples/ samples/
RUN dotnet publish src/Akka.EventDriven.Service/Akka.EventDriven.Service.csproj -c Release --no-restore -o /app \
 && dotnet publish samples/IntelOps/IntelOps.csproj -c Release --no-restore -o /app/modules/IntelOps

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
# SQLite files (used only without DATABASE_URL) go to /app/data; run as the image's unprivileged user.
RUN mkdir -p /app/data && chown -R app:app /app/data
USER app
ENV PORT=3000 \
    AKKA_ENV=production \
    AKKA_PORT=4053 \
    DOTNET_gcServer=1
EXPOSE 3000 4053
HEALTHCHECK --interval=5s --timeout=6s --start-period=30s --retries=5 \
  CMD ["dotnet", "/app/Akka.EventDriven.Service.dll", "--probe", "http://127.0.0.1:3000/health/ready"]
# SIGTERM (docker stop) makes the node leave the cluster, hand off its shards and exit 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["dotnet", "/app/Akka.EventDriven.Service.dll"]
