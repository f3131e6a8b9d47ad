# Remove the pi-agent Windows service and program files. Keeps %ProgramData%\pi-agent (config and
# any buffered data not yet in Databricks) unless -Purge is given.
param([switch] $Purge)
$ErrorActionPreference = 'Stop'
$dir = Join-Path $env:ProgramFiles 'pi-agent'
$svc = Join-Path $dir 'pi-agent-service.exe'
if (Test-Path $svc) { & $svc stop | Out-Null; & $svc uninstall | Out-Null }
Remove-Item -Recurse -Force $dir -ErrorAction SilentlyContinue
if ($Purge) { Remove-Item -Recurse -Force (Join-Path $env:ProgramData 'pi-agent') -ErrorAction SilentlyContinue }
Write-Host 'pi-agent removed.'
