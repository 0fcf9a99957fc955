; Inno Setup 6 script: CNN Studio's Windows installer (setup .exe with a Start-menu entry and
; an uninstaller). packaging/make_package.py runs it after PyInstaller:
;   ISCC /DAppVersion=<version> /DSourceDir=dist\cnn-studio /DOutputDir=dist packaging\windows\cnn-studio.iss
; The version is passed in from pyproject.toml; nothing here repeats it.

#ifndef AppVersion
  #error Pass the version: ISCC /DAppVersion=<version from pyproject.toml>
#endif
#ifndef SourceDir
  #define SourceDir "..\..\dist\cnn-studio"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\dist"
#endif

[Setup]
AppId={{6C1B9E0B-4F1E-4E57-9B0C-2B8F4C7E9D31}
AppName=CNN Studio
AppVersion={#AppVersion}
AppVerName=CNN Studio {#AppVersion}
AppPublisher=CNN Studio developers
DefaultDirName={autopf}\CNN Studio
DefaultGroupName=CNN Studio
DisableProgramGroupPage=yes
; Per-user install by default (no administrator needed); the dialog offers all users.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename=CNN-Studio-{#AppVersion}-setup
SetupIconFile=..\..\resources\icons\cnn-studio.ico
UninstallDisplayIcon={app}\cnn-studio.exe
UninstallDisplayName=CNN Studio {#AppVersion}
; TensorFlow is most of the ~1 GB: LZMA2 on all cores keeps the build in minutes.
Compression=lzma2/normal
SolidCompression=yes
LZMANumBlockThreads=4
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\CNN Studio"; Filename: "{app}\cnn-studio.exe"
Name: "{group}\Uninstall CNN Studio"; Filename: "{uninstallexe}"
Name: "{autodesktop}\CNN Studio"; Filename: "{app}\cnn-studio.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\cnn-studio.exe"; Description: "{cm:LaunchProgram,CNN Studio}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; Only what the app itself leaves in its folder (Python bytecode caches); user projects and runs
; live in the user's folders and are never touched.
Type: filesandordirs; Name: "{app}\_internal\__pycache__"
